"""Regenerate the Python modules for etcd 3.4's v3 API from the .proto files beside this script.

Run `python -m engine.runtime.proto.generate` (or this file directly) after editing a .proto,
then commit the .proto and the generated *_pb2*.py together. grpc_tools writes top-level
imports (`import kv_pb2 as kv__pb2`); they are rewritten to package-relative ones so the
modules load as `engine.runtime.proto.*` without touching sys.path.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent
PROTOS = ("kv.proto", "auth.proto", "rpc.proto")
_SIBLING_IMPORT = re.compile(r"^import (\w+_pb2) as (\w+)$", re.MULTILINE)


SERVICE_PROTOS = ("rpc.proto",)  # the only file with services: the only *_pb2_grpc.py


def protoc(*out_flags: str, protos: tuple[str, ...]) -> None:
    from grpc_tools import protoc as grpc_protoc  # a development dependency only

    args = ["grpc_tools.protoc", f"-I{PROTO_DIR}", *out_flags]
    args += [str(PROTO_DIR / name) for name in protos]
    if grpc_protoc.main(args) != 0:
        raise SystemExit(f"protoc failed on {', '.join(protos)}")


def run_protoc() -> None:
    """Compile every .proto into *_pb2.py + *_pb2.pyi, and rpc.proto into rpc_pb2_grpc.py."""
    protoc(f"--python_out={PROTO_DIR}", f"--pyi_out={PROTO_DIR}", protos=PROTOS)
    protoc(f"--grpc_python_out={PROTO_DIR}", protos=SERVICE_PROTOS)


def make_imports_relative(text: str) -> str:
    """`import kv_pb2 as kv__pb2` -> `from . import kv_pb2 as kv__pb2`."""
    return _SIBLING_IMPORT.sub(r"from . import \1 as \2", text)


def fix_generated_imports() -> list[Path]:
    changed = []
    for path in sorted(PROTO_DIR.glob("*_pb2*.py*")):
        text = path.read_text()
        fixed = make_imports_relative(text)
        if fixed != text:
            path.write_text(fixed)
            changed.append(path)
    return changed


def main() -> int:
    run_protoc()
    for path in fix_generated_imports():
        print(f"relative imports: {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
