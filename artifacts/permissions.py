"""Who may do what, in one place for the API, the admin and the commands' callers."""

from typing import Any

CAN_IMPORT_MESSAGE = "Importing needs staff status or the artifacts.add_artifact permission."


def can_import(user: Any) -> bool:
    """Importing (API, admin) needs staff status or the add-artifact permission."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return bool(user.is_staff or user.has_perm("artifacts.add_artifact"))


CAN_DELETE_MESSAGE = "Deleting needs staff status or the artifacts.delete_artifact permission."


def can_delete(user: Any) -> bool:
    """Deleting (API, admin) needs staff status or the delete-artifact permission."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return bool(user.is_staff or user.has_perm("artifacts.delete_artifact"))
