"""Named limits. Errors that cite them tell the client what to do."""

MAX_POINTS_PER_BATCH = 10_000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_KEY_LENGTH = 250
# Well above MLflow's 6,000 and 8,000, which mlflow server cuts values down to without a
# word: a script that logs a long value (a feature list, a prompt, run notes) keeps it whole.
MAX_PARAM_VALUE_LENGTH = 100_000
MAX_TAG_VALUE_LENGTH = 100_000
MAX_HISTORY_BUCKETS = 10_000
MAX_PAGE_SIZE = 1_000
DEFAULT_PAGE_SIZE = 100
MAX_ARTIFACT_BYTES = 2 * 1024**3
# One live result (a deployment's window): metrics, and slices each with metrics.
MAX_LIVE_METRICS = 100
MAX_LIVE_SLICES = 100
# One profile (a run's reference, or a deployment's live window): features, and the bins (or
# categories) of each. The SDK keeps 10 quantile bins and the top 20 categories by default.
MAX_PROFILE_FEATURES = 1_000
MAX_PROFILE_BINS = 1_000
