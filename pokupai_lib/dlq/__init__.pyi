"""Re-exports of the package (loaded lazily by ``__init__.py``)."""

from .origins import DlqTopic as DlqTopic
from .origins import Redrive as Redrive
from .origins import Unredrivable as Unredrivable
from .origins import dlq_topic as dlq_topic
from .origins import dlq_topics as dlq_topics
from .origins import redrive_of as redrive_of
from .replay import ReplayResult as ReplayResult
from .replay import dlq_counts as dlq_counts
from .replay import replay_dead_letters as replay_dead_letters
from .replay import replay_group as replay_group
