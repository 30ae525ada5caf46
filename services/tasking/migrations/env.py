from services.tasking.models import OWN_TABLES
from shared.migrations import run_env

run_env(OWN_TABLES)
