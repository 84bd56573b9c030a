"""ROS 2 interop: rosbag2 in (bag_source) and out (bag_sink), the sensor_msgs conversions they
and the `ros2` node share (messages, depth_messages), and the node's newest-frame source
(push_source). Torch-free; rosbags and rclpy are imported only when used."""
