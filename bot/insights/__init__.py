"""What people ask and what the docs miss: the question log, coverage gaps, the weekly digest.

``log`` is what the chat writes (one record per question); ``gaps`` clusters the questions the
docs failed on; ``overview`` and ``chart`` summarise the log for the admin page; ``digest`` is
the weekly chat post. Nothing here imports the indexer or the adapters: the composition root
(``bot/app``) wires these into ``ragbot gaps``, ``/admin`` and the scheduler.
"""
