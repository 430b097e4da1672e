"""Roles and permissions in one place (data, not code scattered across routes)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OFFICER = "officer"
    HANDLER = "handler"
    COLLABORATOR = "collaborator"
    REVIEWER = "reviewer"
    BRANCH_MANAGER = "branch_manager"
    AUDITOR = "auditor"
    ADMIN = "admin"


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.OFFICER: ("消保专员", "Consumer-protection officer"),
    Role.HANDLER: ("投诉处理人", "Complaint handler"),
    Role.COLLABORATOR: ("协办人", "Collaborator"),
    Role.REVIEWER: ("审查人", "Reviewer"),
    Role.BRANCH_MANAGER: ("机构负责人", "Branch manager"),
    Role.AUDITOR: ("审计人员", "Auditor"),
    Role.ADMIN: ("系统管理员", "Administrator"),
}


class Perm(StrEnum):
    COMPLAINT_VIEW = "complaint.view"
    COMPLAINT_CREATE = "complaint.create"
    COMPLAINT_ASSIGN = "complaint.assign"
    COMPLAINT_HANDLE = "complaint.handle"
    COMPLAINT_APPROVE = "complaint.approve"
    COMPLAINT_IMPORT = "complaint.import"
    PII_VIEW = "pii.view"
    STATS_VIEW = "stats.view"
    AUDIT_VIEW = "audit.view"
    SUPERVISE = "supervision.send"
    ADMIN = "admin"
    # co-handling tasks and the rectification ledger (tasks module)
    TASK_VIEW = "task.view"
    TASK_CREATE = "task.create"
    TASK_WORK = "task.work"
    TASK_MANAGE = "task.manage"
    TASK_SIGN_OFF = "task.sign_off"
    LEDGER_MANAGE = "ledger.manage"
    COHANDLING_OVERRIDE = "cohandling.override"


R = Role
PERMISSIONS: dict[Perm, frozenset[Role]] = {
    Perm.COMPLAINT_VIEW: frozenset({R.OFFICER, R.HANDLER, R.BRANCH_MANAGER, R.AUDITOR}),
    Perm.COMPLAINT_CREATE: frozenset({R.OFFICER, R.HANDLER}),
    Perm.COMPLAINT_ASSIGN: frozenset({R.OFFICER}),
    Perm.COMPLAINT_HANDLE: frozenset({R.OFFICER, R.HANDLER}),
    # approve a second extension, conduct 核查, reopen: superior-org officer work
    Perm.COMPLAINT_APPROVE: frozenset({R.OFFICER}),
    Perm.COMPLAINT_IMPORT: frozenset({R.OFFICER}),
    # unmasked ID and phone numbers: only those who must contact the complainant
    Perm.PII_VIEW: frozenset({R.OFFICER, R.HANDLER}),
    Perm.STATS_VIEW: frozenset({R.OFFICER, R.BRANCH_MANAGER, R.AUDITOR}),
    Perm.AUDIT_VIEW: frozenset({R.AUDITOR, R.ADMIN}),
    # 督办: consumer-protection officers send supervision notices that need a reply
    Perm.SUPERVISE: frozenset({R.OFFICER}),
    Perm.ADMIN: frozenset({R.ADMIN}),
    # tasks: see the tasks of orgs in one's scope; create; work on tasks of one's own org (claim, answer);
    # manage them (assign, return, cancel); sign completed work off; keep the rectification ledger;
    # decide a complaint despite an open blocking co-handling task (with an audited reason)
    Perm.TASK_VIEW: frozenset(
        {R.OFFICER, R.HANDLER, R.COLLABORATOR, R.REVIEWER, R.BRANCH_MANAGER, R.AUDITOR}
    ),
    Perm.TASK_CREATE: frozenset({R.OFFICER, R.HANDLER, R.BRANCH_MANAGER}),
    Perm.TASK_WORK: frozenset({R.OFFICER, R.HANDLER, R.COLLABORATOR, R.REVIEWER, R.BRANCH_MANAGER}),
    Perm.TASK_MANAGE: frozenset({R.OFFICER, R.BRANCH_MANAGER}),
    Perm.TASK_SIGN_OFF: frozenset({R.OFFICER}),
    Perm.LEDGER_MANAGE: frozenset({R.OFFICER}),
    Perm.COHANDLING_OVERRIDE: frozenset({R.OFFICER}),
}


def has_perm(roles: set[str] | frozenset[str], perm: Perm) -> bool:
    return any(r in PERMISSIONS[perm] for r in roles)
