"""Exit codes the lab's processes share with the keeper that restarts them."""

__all__ = ["ZOMBIE_EXIT_CODE"]

# Another instance with the same transactional id took over: restarting would only fence it.
ZOMBIE_EXIT_CODE = 3
