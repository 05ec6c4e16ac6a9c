"""A writer on another host: open the s3 data dir, write files into the working copy as a
stage would (atomically), push. The tests kill it at a failpoint of the push.

Usage: python writer.py URL WORK_DIR SOURCE_DIR   (endpoint and keys: the AWS_* variables)
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.lake import Lake, write_bytes_atomic

url, work_dir, source = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
lake = Lake.at(url, work_dir=work_dir)
for path in sorted(p for p in source.rglob("*") if p.is_file()):
    write_bytes_atomic(lake.root / path.relative_to(source), path.read_bytes())
lake.sync.push()
