//! AWS Backup for the package file system: vault (encrypted with the data
//! key), plan (schedule, retention) and selection. Only when enabled.

use crate::cfn::resources::backup::{BackupLifecycle, BackupPlan, BackupPlanBody, BackupRule, BackupSelection, BackupVault, SelectionBody};
use crate::cfn::resources::iam::Role;
use crate::cfn::{aws, Expr, PolicyDocument, StackOutput, Statement, Template};

use super::{encryption, managed_policy, storage, Ctx};

pub struct Outputs {
    pub vault_name: StackOutput,
}

pub fn build(ctx: Ctx, enc: &encryption::Outputs, storage: &storage::Outputs) -> (Template, Outputs) {
    let cfg = ctx.cfg;
    let b = &cfg.backup;
    let mut t = Template::new("Backup", format!("pypictl {}: AWS Backup of the package file system", cfg.service_name));
    let key_arn = t.import(&enc.key_arn, "KMS key that encrypts the recovery points");
    let fs_arn = t.import(&storage.file_system_arn, "ARN of the file system to back up");

    // Unique per stack instance (also between environments): a retained
    // vault must not block the next deployment. The name is the vault's
    // identity, so it stays as it was first written.
    let vault_name = Expr::sub_with(format!("{}-backups-${{Suffix}}", cfg.service_name), vec![("Suffix", aws::stack_id_suffix())]);
    // Always retained: CloudFormation cannot delete a vault that holds
    // recovery points ("You can't delete a backup vault that contains
    // recovery points": AWS Backup API reference, DeleteBackupVault), so a
    // Delete policy fails the stack's deletion after the first backup.
    // `destroy --force-destroy-data` deletes the recovery points, then the
    // vault, once the stack is gone. A rollback of the deploy that created
    // it deletes it: it is empty then.
    let vault = t
        .add("BackupVault", BackupVault { backup_vault_name: vault_name, encryption_key_arn: Some(key_arn), backup_vault_tags: None })
        .retain()
        .handle();

    let role = t
        .add(
            "BackupRole",
            crate::cfn::resources::iam::Role {
                description: Some(Expr::str(format!("{}: AWS Backup of the package file system", cfg.service_name))),
                assume_role_policy_document: PolicyDocument::new(vec![Statement::allow(&["sts:AssumeRole"]).service(&["backup.amazonaws.com"])]).to_expr(),
                managed_policy_arns: Some(vec![
                    managed_policy("service-role/AWSBackupServiceRolePolicyForBackup"),
                    managed_policy("service-role/AWSBackupServiceRolePolicyForRestores"),
                ]),
                ..Role::default()
            },
        )
        .handle();

    let plan = t
        .add(
            "BackupPlan",
            BackupPlan {
                backup_plan: BackupPlanBody {
                    // AWS Backup allows plan names of 1-50 characters.
                    backup_plan_name: Expr::str(ctx.bounded_name("efs", 50)),
                    backup_plan_rule: vec![BackupRule {
                        rule_name: "scheduled".into(),
                        target_backup_vault: vault.r(),
                        schedule_expression: Some((&b.schedule).into()),
                        start_window_minutes: Some(60u32.into()),
                        completion_window_minutes: Some(180u32.into()),
                        lifecycle: Some(BackupLifecycle { delete_after_days: Some(b.retention_days.into()) }),
                    }],
                },
                backup_plan_tags: None,
            },
        )
        .handle();

    t.add(
        "BackupSelection",
        BackupSelection {
            backup_plan_id: plan.r(),
            backup_selection: SelectionBody { selection_name: Expr::str(ctx.bounded_name("packages", 50)), iam_role_arn: role.att("Arn"), resources: Some(vec![fs_arn]) },
        },
    );

    let vault_name = t.export("BackupVaultName", "AWS Backup vault of the file system's recovery points", vault.r());
    t.output("BackupVaultArn", "ARN of the backup vault", vault.att("BackupVaultArn"));
    t.output("BackupPlanId", "AWS Backup plan", plan.att("BackupPlanId"));
    (t, Outputs { vault_name })
}
