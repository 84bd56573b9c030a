"""Credentials never printed: user info ends at the LAST `@` of a URL, whatever it holds."""
from __future__ import annotations

import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.runtime.redact import redact
from moadepth_edge.runtime.sources import open_source


@pytest.mark.parametrize("url, shown", [
    ("rtsp://user:secret@cam.local/stream", "rtsp://***@cam.local/stream"),
    ("rtsp://u:ab/cd@host/s", "rtsp://***@host/s"),  # a `/` in the password
    ("rtsp://u:p@ss@host/s", "rtsp://***@host/s"),  # an `@` in the password
    ("rtsp://u:p:q@host:554/s", "rtsp://***@host:554/s"),  # a `:` in the password
    ("rtsp://u:a/b@c:d@10.0.0.2:8554/live?x=1", "rtsp://***@10.0.0.2:8554/live?x=1"),
    ("http://token@cam/video.mjpg", "http://***@cam/video.mjpg"),
    ("rtsp://u:pass word@host/s", "rtsp://***@host/s"),  # a whole URL: a space cannot leak
    ("rtsp://cam.local:554/stream", "rtsp://cam.local:554/stream"),  # nothing to hide
    ("rtsp://***@host/s", "rtsp://***@host/s"),  # redacting twice changes nothing
    ("clip.mp4", "clip.mp4"),
])
def test_a_url_shows_no_user_info(url, shown):
    assert redact(url) == shown


@pytest.mark.parametrize("text, shown", [
    ("stream rtsp://u:p@ss@host/s dropped; reconnecting", "stream rtsp://***@host/s dropped; reconnecting"),
    ("cannot open 'rtsp://a:b/c@h/s' or \"http://x:y@z/\"", "cannot open 'rtsp://***@h/s' or \"http://***@z/\""),
    ("rtspsrc location=rtsp://u:p@cam/s latency=0 ! decodebin ! appsink",
     "rtspsrc location=rtsp://***@cam/s latency=0 ! decodebin ! appsink"),
    ("two: rtsp://a:1@h1/s and srt://b:2@h2:9000", "two: rtsp://***@h1/s and srt://***@h2:9000"),
])
def test_urls_inside_messages_show_no_user_info(text, shown):
    assert redact(text) == shown


def test_a_mistyped_source_is_reported_without_its_password():
    with pytest.raises(UserError, match="source not found") as info:
        open_source("rtp://user:hunter2@127.0.0.1:1/s")  # not a scheme OpenCV streams: a missing file
    assert "hunter2" not in str(info.value) and "rtp://***@127.0.0.1:1/s" in str(info.value)


@pytest.mark.parametrize("url, shown", [
    ("rtsp://127.0.0.1:9/s?user=admin&password=S3cretPW", "rtsp://127.0.0.1:9/s?user=admin&password=***"),
    ("http://cam/video.cgi?resolution=640&PWD=x1;token=t2#top", "http://cam/video.cgi?resolution=640&PWD=***;token=***#top"),
    ("https://h/live.m3u8?api_key=K&sig=S&auth_token=T", "https://h/live.m3u8?api_key=***&sig=***&auth_token=***"),
    ("rtsp://u:p@h/s?secret=z", "rtsp://***@h/s?secret=***"),
    ("rtsp://h/s?user=u&password=p@ss/w:rd", "rtsp://h/s?user=u&password=***"),  # an `@` in the value
    ("rtsp://cam/s?channel=1&subtype=0", "rtsp://cam/s?channel=1&subtype=0"),  # nothing to hide
])
def test_a_secret_in_the_query_is_hidden(url, shown):
    assert redact(url) == shown
    assert redact(f"cannot open stream {url}") == f"cannot open stream {shown}"
