"""Validates X12 files with LinuxForHealth x12 (PyPI: linuxforhealth-x12), the second
validator ClaimFlow's 837P output must satisfy besides pyx12.

Usage: lfh_validate.py FILE...   Prints one line per file, `FILE: OK (N transactions)` or
`FILE: Failure: REASON`, and exits 1 when any file failed.
"""

import sys

from linuxforhealth.x12.io import X12ModelReader


def main():
    failed = 0
    for path in sys.argv[1:]:
        try:
            with X12ModelReader(path) as reader:
                count = sum(1 for _ in reader.models())
            if count == 0:
                raise ValueError("no transaction set was read")
            print(f"{path}: OK ({count} transactions)")
        except Exception as error:  # any parse or model error is a verdict, not a crash
            failed += 1
            reason = " ".join(str(error).split())[:2000]
            print(f"{path}: Failure: {type(error).__name__}: {reason}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
