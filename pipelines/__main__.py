"""`python -m pipelines …`: see `pipelines.cli`."""

from pipelines.cli import main

raise SystemExit(main())
