"""The README's section "Use the plastic layer in your model": its Python code runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Use the plastic layer in your model"


def section_code(text: str, title: str) -> list[str]:
    """The ```python blocks of the section headed ``title`` (up to the next ``## `` heading)."""
    start = text.index(title)  # ValueError if the section is gone
    end = text.find("\n## ", start + len(title))
    body = text[start:] if end < 0 else text[start:end]
    return re.findall(r"^```python\n(.*?)^```$", body, flags=re.S | re.M)


def test_section_code_is_extracted():
    text = f"# t\n\n{SECTION}\n\n```python\na = 1\n```\n\n```bash\nls\n```\n\n## Next\n\n```python\nb = 2\n```\n"
    assert section_code(text, SECTION) == ["a = 1\n"]


def test_readme_example_runs_and_learns(capsys):
    blocks = section_code(README.read_text(encoding="utf-8"), SECTION)
    assert len(blocks) >= 2, "the section should show the recurrent layer and the step-wise cell"
    namespace: dict = {}
    for i, code in enumerate(blocks):  # one namespace: a later block continues the earlier ones, as a reader would
        exec(compile(code, f"README.md ({SECTION[3:]}, block {i + 1})", "exec"), namespace)
    losses = namespace["losses"]
    assert losses[-1] < 0.2 * losses[0], f"the example's loss should fall: {losses[0]:.3f} -> {losses[-1]:.3f}"
    assert "loss " in capsys.readouterr().out
    assert namespace["cell"].connection.alpha.grad is not None  # the closed loop backpropagated
