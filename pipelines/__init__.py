"""Dagster wiring: settings, resources, jobs, schedules, sensors and the composition root
(`pipelines.definitions`), plus the command line (`python -m pipelines`)."""
