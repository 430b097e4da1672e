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
    CLAIMS_OPERATOR = "claims_operator"
    SURVEYOR = "surveyor"
    COMMANDER = "commander"
    RISK_ENGINEER = "risk_engineer"


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.OFFICER: ("消保专员", "Consumer-protection officer"),
    Role.HANDLER: ("投诉处理人", "Complaint handler"),
    Role.COLLABORATOR: ("协办人", "Collaborator"),
    Role.REVIEWER: ("审查人", "Reviewer"),
    Role.BRANCH_MANAGER: ("机构负责人", "Branch manager"),
    Role.AUDITOR: ("审计人员", "Auditor"),
    Role.ADMIN: ("系统管理员", "Administrator"),
    Role.CLAIMS_OPERATOR: ("理赔作业人员", "Claims operator"),
    Role.SURVEYOR: ("查勘员", "Surveyor"),
    Role.COMMANDER: ("大灾指挥", "Catastrophe commander"),
    Role.RISK_ENGINEER: ("风险工程师", "Risk engineer"),
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
    # consumer-protection review (review module)
    REVIEW_SUBMIT = "review.submit"
    REVIEW_VIEW = "review.view"
    REVIEW_DECIDE = "review.decide"
    REVIEW_RULES = "review.rules"
    # risk radar (radar module)
    RADAR_VIEW = "radar.view"
    RADAR_MANAGE = "radar.manage"
    RADAR_VISIT = "radar.visit"
    # claims factory and catastrophe command (claims module)
    CLAIM_VIEW = "claim.view"
    CLAIM_CREATE = "claim.create"
    CLAIM_HANDLE = "claim.handle"
    CLAIM_DISPATCH = "claim.dispatch"
    CAT_COMMAND = "cat.command"


R = Role
PERMISSIONS: dict[Perm, frozenset[Role]] = {
    Perm.COMPLAINT_VIEW: frozenset({R.OFFICER, R.HANDLER, R.BRANCH_MANAGER, R.AUDITOR}),
    Perm.COMPLAINT_CREATE: frozenset({R.OFFICER, R.HANDLER}),
    Perm.COMPLAINT_ASSIGN: frozenset({R.OFFICER}),
    Perm.COMPLAINT_HANDLE: frozenset({R.OFFICER, R.HANDLER}),
    # approve a second extension, conduct 核查, reopen: superior-org officer work
    Perm.COMPLAINT_APPROVE: frozenset({R.OFFICER}),
    Perm.COMPLAINT_IMPORT: frozenset({R.OFFICER}),
    # unmasked ID and phone numbers: only those who must contact the complainant or the claim reporter
    Perm.PII_VIEW: frozenset({R.OFFICER, R.HANDLER, R.CLAIMS_OPERATOR, R.SURVEYOR}),
    Perm.STATS_VIEW: frozenset({R.OFFICER, R.BRANCH_MANAGER, R.AUDITOR}),
    Perm.AUDIT_VIEW: frozenset({R.AUDITOR, R.ADMIN}),
    # 督办: consumer-protection officers send supervision notices that need a reply
    Perm.SUPERVISE: frozenset({R.OFFICER}),
    Perm.ADMIN: frozenset({R.ADMIN}),
    # tasks: see the tasks of orgs in one's scope; create; work on tasks of one's own org (claim, answer);
    # manage them (assign, return, cancel); sign completed work off; keep the rectification ledger;
    # decide a complaint despite an open blocking co-handling task (with an audited reason)
    # risk engineers follow the hazard tasks their visits create
    Perm.TASK_VIEW: frozenset(
        {R.OFFICER, R.HANDLER, R.COLLABORATOR, R.REVIEWER, R.BRANCH_MANAGER, R.AUDITOR, R.RISK_ENGINEER}
    ),
    Perm.TASK_CREATE: frozenset({R.OFFICER, R.HANDLER, R.BRANCH_MANAGER}),
    Perm.TASK_WORK: frozenset({R.OFFICER, R.HANDLER, R.COLLABORATOR, R.REVIEWER, R.BRANCH_MANAGER}),
    Perm.TASK_MANAGE: frozenset({R.OFFICER, R.BRANCH_MANAGER}),
    Perm.TASK_SIGN_OFF: frozenset({R.OFFICER}),
    Perm.LEDGER_MANAGE: frozenset({R.OFFICER}),
    Perm.COHANDLING_OVERRIDE: frozenset({R.OFFICER}),
    # review: departments (collaborators) and officers submit material; reviewers decide; officers and reviewers
    # see every submission in their scope; rule edits are a reviewer/admin matter
    Perm.REVIEW_SUBMIT: frozenset({R.OFFICER, R.COLLABORATOR, R.REVIEWER}),
    Perm.REVIEW_VIEW: frozenset({R.OFFICER, R.REVIEWER, R.BRANCH_MANAGER, R.AUDITOR}),
    Perm.REVIEW_DECIDE: frozenset({R.REVIEWER}),
    Perm.REVIEW_RULES: frozenset({R.REVIEWER, R.ADMIN}),
    # radar: risk engineers run events, import sites and claims, plan and record visits
    Perm.RADAR_VIEW: frozenset({R.RISK_ENGINEER, R.OFFICER, R.BRANCH_MANAGER, R.AUDITOR, R.COMMANDER}),
    Perm.RADAR_MANAGE: frozenset({R.RISK_ENGINEER}),
    Perm.RADAR_VISIT: frozenset({R.RISK_ENGINEER}),
    # claims: operators and surveyors work cases; commanders steer events and move staff
    Perm.CLAIM_VIEW: frozenset({R.CLAIMS_OPERATOR, R.SURVEYOR, R.COMMANDER, R.BRANCH_MANAGER, R.AUDITOR}),
    Perm.CLAIM_CREATE: frozenset({R.CLAIMS_OPERATOR, R.COMMANDER}),
    Perm.CLAIM_HANDLE: frozenset({R.CLAIMS_OPERATOR, R.SURVEYOR}),
    Perm.CLAIM_DISPATCH: frozenset({R.COMMANDER}),
    Perm.CAT_COMMAND: frozenset({R.COMMANDER}),
}


def has_perm(roles: set[str] | frozenset[str], perm: Perm) -> bool:
    return any(r in PERMISSIONS[perm] for r in roles)
