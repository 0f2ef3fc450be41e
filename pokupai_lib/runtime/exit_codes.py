"""Exit codes the lab's long-running processes end with on purpose, and what each one means.

The supervisor reads them: a process that ends with :data:`ZOMBIE_EXIT_CODE` is not restarted.
"""

from __future__ import annotations

__all__ = ["ZOMBIE_EXIT_CODE"]

# Another instance of the same stream app (same transactional.id / group.instance.id) has
# taken over; restarting this one would only fence the live one in turn.
ZOMBIE_EXIT_CODE = 3
