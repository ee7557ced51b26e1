"""Read-back only: trace records from the trace files, the terminal tree, the HTML page, leak reports.

Imports the instrumentation layer (file locations, names), never the platform.
"""
