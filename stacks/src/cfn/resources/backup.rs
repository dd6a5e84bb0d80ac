use crate::cfn::{props, resource, Expr};

resource!("AWS::Backup::BackupVault", BackupVault {
    backup_vault_name: Expr,
    encryption_key_arn: Option<Expr>,
    backup_vault_tags: Option<Expr>,
});

resource!("AWS::Backup::BackupPlan", BackupPlan { backup_plan: BackupPlanBody, backup_plan_tags: Option<Expr> });

props!(BackupPlanBody { backup_plan_name: Expr, backup_plan_rule: Vec<BackupRule> });

props!(BackupRule {
    rule_name: Expr,
    target_backup_vault: Expr,
    schedule_expression: Option<Expr>,
    start_window_minutes: Option<Expr>,
    completion_window_minutes: Option<Expr>,
    lifecycle: Option<BackupLifecycle>,
});

props!(BackupLifecycle { delete_after_days: Option<Expr> });

resource!("AWS::Backup::BackupSelection", BackupSelection { backup_plan_id: Expr, backup_selection: SelectionBody });

props!(SelectionBody {
    selection_name: Expr,
    iam_role_arn: Expr,
    resources: Option<Vec<Expr>>,
});
