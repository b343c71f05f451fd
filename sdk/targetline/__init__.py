"""Targetline's client: log runs from training scripts, never stalling, never losing a point.

    import targetline as tl

    run = tl.init(project="news-topics", experiment="tfidf-logreg", params={"C": 1.0})
    run.log({"loss": 0.31}, step=12)
    run.log({"f1": 0.84}, split="validation", step=12)
    run.finish()

    tl.Api().winner("news-topics")

`TARGETLINE_URL` and `TARGETLINE_TOKEN` say where to send and as whom;
`TARGETLINE_DIR` (default ~/.targetline) is where data waits until the server
has it. `targetline status` lists what is waiting; `targetline sync` sends it.
"""

from targetline._http import ApiError, TargetlineError, Unreachable
from targetline._version import __version__
from targetline.api import Api, FilterWarning
from targetline.run import Run, init

__all__ = ["Api", "ApiError", "FilterWarning", "Run", "TargetlineError", "Unreachable",
           "__version__", "init"]
