"""Problems found in user input, reported all at once.

A `Problem` names the file, the row as a spreadsheet user counts it (the header is row 1,
so the first contact is row 2), the field, and what is wrong in plain words.

```python
from outreach.problems import Problem, ProblemList

problems = ProblemList()
problems.add("contacts.csv", "email", "is not a valid email address: 'ana@'", row=7)
if problems:
    raise problems.error()
```
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    row: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field:
            where += f", {self.field}"
        return f"{where}: {self.message}"


class ProblemList:
    """An ordered collection of problems; falsy when there are none."""

    def __init__(self, problems: Iterable[Problem] = ()) -> None:
        self._items: list[Problem] = list(problems)

    def add(self, file: str, field: str, message: str, row: int | None = None) -> None:
        self._items.append(Problem(file=file, row=row, field=field, message=message))

    def extend(self, problems: Iterable[Problem]) -> None:
        self._items.extend(problems)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def error(self) -> InvalidInput:
        return InvalidInput(list(self._items))


class InvalidInput(Exception):
    """Raised with every problem found, never just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found:\n{lines}")
