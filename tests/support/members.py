"""The association's 16 member municipalities, as the register seeds them: one list for every
test module (a light module, so the state machine's tests need no worker to import it)."""

from __future__ import annotations

MUNICIPALITIES = (
    "roeselare",
    "izegem",
    "tielt",
    "ardooie",
    "hooglede",
    "ingelmunster",
    "ledegem",
    "lichtervelde",
    "meulebeke",
    "moorslede",
    "oostrozebeke",
    "pittem",
    "ruiselede",
    "staden",
    "wielsbeke",
    "wingene",
)
