"""What the critique asks and the rules every critique row is judged by (see the package's docstring)."""

from __future__ import annotations

from ...stats import SIGNIFICANCE
from ..contract import Reported

EXPERIMENT = "critiques"

QUESTION = Reported("not claimed: a question from the critique ('Many widely used architectures like LSTMs could "
                    "be tried along with a plastic component')", "ICML 2018 course summary, Critiques, "
                                                                 "002_211b927b97543b95.txt")
DISTRIBUTIONS = ("'how plastic networks will behave if the test sets are completely different from the training "
                 "dataset. Will the performance be the same as non-plastic networks?'")
ERASURE = "'The removed pixels of test images could have been made more random, similar to experiment 1'"
NOT_RUN: dict[str, str] = {}  # question -> the critique's words, for a question without runs (a row says so)

# Cut-offs, fixed before the runs they judge; each verdict is also computed at half and twice them.
NO_BUDGET = "no paper asks this question or gives its budget"  # the reason a missed critique row is "not
# reproduced" (contract.missed): no published training length puts the miss down to ours
LEVEL = SIGNIFICANCE  # two-sided level of the paired comparison over seeds (0.05)
_LEVEL = "significance level"
