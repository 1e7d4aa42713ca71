"""``ragbot train``: the third part of RAG. Fine-tune a copy of the query encoder (and, with
``--generator``, a LoRA on the local LM) on pseudo-queries from the corpus, chat feedback and QA
files, against the frozen document vectors; keep every result as a version under
``data_dir/models/``, and switch to it only when held-out questions say it is better.

The run itself is :func:`bot.train.run.run_training`; this package's top level stays light
(no torch), since every command reads the ``[training]`` section.
"""

from bot.train.config import TrainingConfig

__all__ = ["TrainingConfig"]
