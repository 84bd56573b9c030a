"""On-device benchmarks: measurement, memory, system info, accuracy, and reports (JSON schema,
Markdown, PNG plots, comparisons). Imports no torch; the torch-eager baseline does, lazily."""
