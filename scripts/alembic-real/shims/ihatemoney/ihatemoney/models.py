"""BillType, the enum a revision creates (namespace package: the
revisions' own ihatemoney/migrations/ sits beside it)."""
from enum import Enum


class BillType(Enum):
    EXPENSE = "Expense"
    REIMBURSEMENT = "Reimbursement"
