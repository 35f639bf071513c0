"""The key ring: AES-256 keys by id, one of them the key new payloads are encrypted with.

Every key in the ring decrypts (a payload names its key id in its metadata), so a key can be
rotated without touching what is stored: add a key, make it the encrypting one, and keep the
old one for as long as a history, a memo or a result encrypted under it may still be read.

The ring is a JSON file (`{"encrypting_key": ID, "keys": {ID: base64 of 32 bytes}}`), readable
by its owner only. `python -m codec.keyring` creates one, adds a key and switches the
encrypting key.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import re
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from log import add_secret

KEY_BYTES = 32  # AES-256
KEY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
KeyId = Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]
FILE_MODE = 0o600


class KeyRingError(ValueError):
    """The key ring file is missing, unreadable or malformed; the message says how to fix it."""


class KeyRingMissing(KeyRingError):
    """There is no key ring file where the settings point."""


class _KeyRingFile(BaseModel):
    """The ring's form on disk."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    encrypting_key: KeyId
    keys: dict[KeyId, str] = Field(min_length=1)


@dataclass(frozen=True)
class KeyRing:
    """Keys by id; `encrypting_key_id` names the one that encrypts."""

    keys: Mapping[str, bytes] = field(repr=False)
    encrypting_key_id: str

    def __post_init__(self) -> None:
        if self.encrypting_key_id not in self.keys:
            raise KeyRingError(
                f"the encrypting key {self.encrypting_key_id!r} is not among the ring's keys "
                f"({', '.join(sorted(self.keys))})"
            )
        for key_id, key in self.keys.items():
            if len(key) != KEY_BYTES:
                raise KeyRingError(f"key {key_id!r} has {len(key)} bytes, not {KEY_BYTES}")

    @property
    def encrypting_key(self) -> bytes:
        return self.keys[self.encrypting_key_id]

    def with_key(self, key_id: str, key: bytes, *, encrypting: bool) -> KeyRing:
        """A ring with one more key, optionally the new encrypting one."""
        if key_id in self.keys:
            raise KeyRingError(f"the ring already has a key {key_id!r}; choose another id")
        return KeyRing({**self.keys, key_id: key}, key_id if encrypting else self.encrypting_key_id)

    def encrypting_with(self, key_id: str) -> KeyRing:
        if key_id not in self.keys:
            raise KeyRingError(
                f"no key {key_id!r} in the ring (it has {', '.join(sorted(self.keys))})"
            )
        return KeyRing(self.keys, key_id)

    def to_json(self) -> str:
        document = _KeyRingFile(
            encrypting_key=self.encrypting_key_id,
            keys={k: base64.b64encode(v).decode("ascii") for k, v in sorted(self.keys.items())},
        )
        return document.model_dump_json(indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "the key ring") -> KeyRing:
        try:
            document = _KeyRingFile.model_validate_json(text)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}"
                for e in exc.errors(include_url=False, include_input=False)
            )
            raise KeyRingError(f"{source} is not a valid key ring ({problems})") from None
        keys: dict[str, bytes] = {}
        for key_id, encoded in document.keys.items():
            try:
                keys[key_id] = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise KeyRingError(f"{source}: key {key_id!r} is not valid base64") from None
        try:
            return cls(keys, document.encrypting_key)
        except KeyRingError as exc:
            raise KeyRingError(f"{source}: {exc}") from None


def new_key_id(now: datetime | None = None) -> str:
    """A fresh id: the day it was made and a random part (never derived from the key)."""
    day = (now or datetime.now(UTC)).strftime("%Y%m%d")
    return f"k{day}-{secrets.token_hex(4)}"


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def load_keyring(path: Path) -> KeyRing:
    """Read the ring at `path`; `KeyRingMissing` when there is none, `KeyRingError` when bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyRingMissing(
            f"no codec key ring at {path}: start the local stack with `make up` (it creates "
            "one), or set INKANTELING_CODEC_KEY_FILE to the ring's file"
        ) from None
    except OSError as exc:
        raise KeyRingError(f"cannot read the codec key ring {path} ({exc.strerror})") from None
    ring = KeyRing.from_json(text, source=str(path))
    # A second line of defence: no log line can show a key as the file writes it.
    for key in ring.keys.values():
        add_secret(base64.b64encode(key).decode("ascii"))
        add_secret(base64.urlsafe_b64encode(key).decode("ascii"))
    return ring


def write_keyring(path: Path, ring: KeyRing, *, replace: bool) -> None:
    """Write the ring readable by its owner only; atomically, so a reader never sees half.
    `replace=False` refuses to overwrite an existing ring (its keys would be lost)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(ring.to_json())
        if replace:
            os.replace(temporary, path)
        else:
            # link() fails if the target exists, unlike rename(): no ring is ever clobbered.
            try:
                os.link(temporary, path)
            except FileExistsError:
                raise KeyRingError(
                    f"a key ring already exists at {path}; it is kept (its keys decrypt "
                    "stored payloads). Add a key to it with `python -m codec.keyring add`"
                ) from None
    finally:
        temporary.unlink(missing_ok=True)


def create_keyring(path: Path) -> KeyRing:
    """A new ring with one random key at `path` (mode 0600); refuses if one exists."""
    key_id = new_key_id()
    ring = KeyRing({key_id: new_key()}, key_id)
    write_keyring(path, ring, replace=False)
    return ring


def ensure_keyring(path: Path) -> tuple[KeyRing, bool]:
    """The ring at `path`, created first if there is none; and whether it was created."""
    try:
        return load_keyring(path), False
    except KeyRingMissing:
        return create_keyring(path), True


# --- the command line -------------------------------------------------------------------------


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codec.keyring",
        description="Manage the codec's key ring. Rotation: `add` a key (it becomes the "
        "encrypting key), restart the workers and clients; keep the old key in the ring "
        "while payloads encrypted under it may still be read.",
    )
    parser.add_argument("file", type=Path, help="the ring's JSON file")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create", help="a new ring with one random key (refuses if it exists)")
    add = commands.add_parser("add", help="add a random key and encrypt with it from now on")
    add.add_argument("--id", dest="key_id", help="the new key's id (default: k<date>-<random>)")
    add.add_argument("--keep-encrypting", action="store_true", help="only decrypt with it")
    use = commands.add_parser("use", help="encrypt with this key of the ring from now on")
    use.add_argument("key_id")
    commands.add_parser("list", help="the key ids, the encrypting one marked (never the keys)")
    args = parser.parse_args(argv)
    try:
        if args.command == "create":
            ring = create_keyring(args.file)
        elif args.command == "list":
            ring = load_keyring(args.file)
        else:
            ring = load_keyring(args.file)
            if args.command == "add":
                key_id = args.key_id or new_key_id()
                if not _is_key_id(key_id):
                    raise KeyRingError(f"--id {key_id!r}: use letters, digits, '.', '_', '-'")
                ring = ring.with_key(key_id, new_key(), encrypting=not args.keep_encrypting)
            else:
                ring = ring.encrypting_with(args.key_id)
            write_keyring(args.file, ring, replace=True)
    except KeyRingError as exc:
        print(f"codec.keyring: {exc}", file=sys.stderr)
        return 3
    for key_id in sorted(ring.keys):
        print(f"{key_id}{'  (encrypting)' if key_id == ring.encrypting_key_id else ''}")
    return 0


def _is_key_id(text: str) -> bool:
    return re.fullmatch(KEY_ID_PATTERN, text) is not None


if __name__ == "__main__":
    sys.exit(_main())
