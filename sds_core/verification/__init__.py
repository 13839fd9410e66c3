"""The verification engine: the six classic CSV files in, Graph verification messages (with their rows) out."""

import os

# numpy's OpenBLAS starts a thread per core that spins while a verification runs; nothing here
# does linear algebra (L set: 0.15-0.2 s of CPU less). Set before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
