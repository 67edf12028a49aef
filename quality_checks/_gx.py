"""The one place Great Expectations is imported and its context configured.

GX is kept quiet, in memory and fast: no usage analytics, no progress bars, no data docs site,
no file context, nothing written to disk, no batch fingerprint. `GX_ANALYTICS_ENABLED` is set before the first import
(the context config says the same, for versions that read only one of them).
"""

from __future__ import annotations

import os

os.environ["GX_ANALYTICS_ENABLED"] = "false"

import great_expectations as gx
import great_expectations.execution_engine.pandas_execution_engine as _pandas_engine
import great_expectations.expectations as gxe
from great_expectations.data_context import EphemeralDataContext
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

__all__ = ["ephemeral_context", "gx", "gxe"]

# GX fingerprints every pandas batch below 1 GB (shallow) by hashing the whole frame, twice per
# validation: a third of the time on a 300k-row frame. The fingerprint is only a batch marker
# (nothing here compares batches), so skip it. A no-op if a later GX drops the constant.
if hasattr(_pandas_engine, "HASH_THRESHOLD"):
    _pandas_engine.HASH_THRESHOLD = 0


def ephemeral_context() -> EphemeralDataContext:
    """A fresh in-memory context (a few milliseconds): stores in memory, no docs site, no bars."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    assert isinstance(context, EphemeralDataContext)
    return context
