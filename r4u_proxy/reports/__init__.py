"""Numbers over many traces for the CLI, the UI and exports: stats, insights, time windows."""
