"""Re-exports of the package (loaded lazily by ``__init__.py``)."""

from .app import MAX_TERM_LENGTH as MAX_TERM_LENGTH
from .app import BanService as BanService
from .app import check_term as check_term
from .app import create_app as create_app
from .checks import moderator_answers as moderator_answers
from .checks import validation_answers as validation_answers
from .client import MODERATOR as MODERATOR
from .client import VALIDATION_CASES as VALIDATION_CASES
from .client import BanApiClient as BanApiClient
from .moderator import ModeratorToken as ModeratorToken
from .rules import BanKind as BanKind
from .rules import BanList as BanList
from .rules import BanMatch as BanMatch
from .rules import normalize_term as normalize_term
from .rules import product_text_fields as product_text_fields
from .topic import BanTopic as BanTopic
from .topic import apply_ban_record as apply_ban_record
from .topic import ban_key as ban_key
from .topic import parse_ban_key as parse_ban_key
from .writer import BanWriter as BanWriter
from .writer import recovery_for as recovery_for
