// Evaluates the templates' IAM policies (resolved by policies.py) offline with
// @cloud-copilot/iam-simulate, for every AWS call in src/aws/calls.rs (printed by
// `cargo run --example aws_calls`), on the ARNs the bot makes them on:
//   - allowed where the bot must be able to make it, in every partition;
//   - explicitly denied for every write on service-linked roles, Identity Center
//     roles and the bot's own roles (task, execution and target-account role);
//   - nothing the roles allow that no call needs (e.g. dynamodb:Scan for the bot);
//   - Identity Center calls only when the stack is given an instance;
//   - the clean-up's deletes only when the stack is given CleanupAfterWindow=true;
//   - calls on IAM users (a leaked access key's) only when the stack is given RevocableUserPattern.
//
// Usage: node simulate.mjs CALLS.json SCENARIOS.json
import { readFileSync } from 'node:fs'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const [callsFile, scenariosFile] = process.argv.slice(2)
const { calls, indexes } = JSON.parse(readFileSync(callsFile, 'utf8'))
const scenarios = JSON.parse(readFileSync(scenariosFile, 'utf8'))
let failed = 0
let checked = 0
const failures = []

const fail = (what) => {
  failed += 1
  failures.push(what)
}

// A role's trust policy is the resource policy of sts:AssumeRole on it.
const trustOf = {}

// Calls made only by the clean-up after the window (watch.cleanup_after_window), which the templates grant
// only with CleanupAfterWindow=true: src/aws/calls.rs describes each as "clean-up …".
const cleanupOnly = (call) => call.why.startsWith('clean-up') || call.api === 'iam:DeleteRolePolicy'

async function simulate(role, action, resource, account, contextVariables = {}) {
  const resourcePolicy = action === 'sts:AssumeRole' ? trustOf[resource] : undefined
  const res = await runSimulation(
    {
      identityPolicies: role.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
      request: {
        action,
        principal: role.arn,
        resource: { resource, accountId: account },
        contextVariables
      }
    },
    {}
  )
  checked += 1
  if (res.resultType === 'error') {
    return { decision: 'error', detail: JSON.stringify(res.errors) }
  }
  // The library's overall result calls an explicit deny ImplicitlyDenied; the identity
  // analysis says which.
  const analysis = res.resultType === 'single' ? res.result.analysis : undefined
  const decision =
    res.overallResult === 'Allowed'
      ? 'Allowed'
      : analysis?.identityAnalysis?.result === 'ExplicitlyDenied'
        ? 'ExplicitlyDenied'
        : 'ImplicitlyDenied'
  return { decision, detail: '' }
}

// The ARN a call is made on, for a role path and name and an account.
function fill(pattern, values) {
  return pattern.replace(/\{([a-z_]+)\}/g, (_, key) => {
    if (!(key in values)) throw new Error(`no value for {${key}} in ${pattern}`)
    return values[key]
  })
}

async function expect(scenario, role, call, values, want, why, context = {}) {
  for (const action of call.actions) {
    for (const pattern of call.resources) {
      const patterns = pattern.includes('{index}')
        ? indexes.map((index) => fill(pattern, { ...values, index }))
        : [fill(pattern, values)]
      for (const resource of patterns) {
        const { decision, detail } = await simulate(role, action, resource, values.account, context)
        const ok = want === 'Denied' ? decision.endsWith('Denied') : decision === want
        if (!ok) {
          fail(
            `${scenario.name}: ${role.name ?? role.arn} ${action} on ${resource}: ${decision}, want ${want} (${why}) ${detail}`
          )
        }
      }
    }
  }
}

for (const s of scenarios) {
  const p = s.partition
  for (const k of Object.keys(trustOf)) delete trustOf[k]
  trustOf[s.target_role_in_target.arn] = s.target_role_in_target.trust
  const base = {
    partition: p,
    region: s.region,
    table: s.table,
    target_role: s.target_role,
    instance: 'ssoins-1234567890abcdef',
    permission_set: 'ps-1234567890abcdef',
    member_account: '333333333333',
    user: 'ci/leaked-deployer'
  }
  // The roles the bot acts as in the account of the role it revokes.
  const accountRoles = [
    [s.task_role, s.task_role.account],
    [s.target_role_in_target, s.target_role_in_target.account]
  ]
  // IAM users whose leaked keys the bot contains (path and name).
  const users = ['ci-deployer', 'team/ci/deployer']
  const revocable = s.role_pattern
    ? [`${s.role_pattern}deployer`, `${s.role_pattern}team/ci`]
    : ['app-deployer', 'team/app-ci']
  for (const call of calls) {
    if (!call.needs_permission || call.caller === 'local_development') continue
    const sso = call.api.startsWith('sso:')
    const noCleanup = cleanupOnly(call) && !s.cleanup
    const noUsers = call.resources.some((r) => r.includes('{user}')) && !s.users
    const want = (sso && !s.identity_center) || noCleanup || noUsers ? 'Denied' : 'Allowed'
    const why =
      sso && !s.identity_center
        ? 'no Identity Center without IdentityCenterInstanceArn'
        : noCleanup
          ? 'no clean-up without CleanupAfterWindow=true'
          : noUsers
            ? 'no users without RevocableUserPattern'
            : call.why
    if (call.caller === 'task_role') {
      // sts:AssumeRole is made on the target role in another account; the rest in the bot's.
      const account = call.api === 'sts:AssumeRole' ? s.target_role_in_target.account : s.task_role.account
      await expect(s, s.task_role, call, { ...base, account, role: 'unused' }, want, why, {
        'sts:ExternalId': s.external_id
      })
    } else if (call.caller === 'account_role') {
      // {target_role} of a call the bot makes as its role in an account is that role itself: the task role in
      // the bot's account, revoke-role-bot-target elsewhere (e.g. check-config simulating its own policies).
      for (const [role, account] of accountRoles) {
        for (const [r, user] of revocable.map((r, i) => [r, users[i % users.length]])) {
          await expect(s, role, call, { ...base, account, role: r, user, target_role: role.name }, want, why)
        }
      }
    } else if (call.caller === 'operator') {
      await expect(s, s.operator, call, { ...base, account: s.operator.account, role: 'unused' }, want, why)
    } else {
      fail(`${call.api}: unknown caller ${call.caller}`)
    }
  }

  // Writes on roles the bot must never touch: explicitly denied, whatever the allow says.
  const roleWrites = calls.filter(
    (c) => c.resources.some((r) => r.includes('{role}')) && c.actions.some((a) => !/:(Get|List)/.test(a))
  )
  for (const [role, account] of accountRoles) {
    const ownRoles = [s.task_role, s.execution_role, s.target_role_in_target]
      .filter((r) => r.account === account)
      .map((r) => r.arn.split(':role/')[1])
    const never = [
      'aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS',
      'aws-service-role/sso.amazonaws.com/AWSServiceRoleForSSO',
      'aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef',
      `aws-reserved/sso.amazonaws.com/${s.region}/AWSReservedSSO_ReadOnly_0123456789abcdef`,
      'AWSReservedSSO_Imposter_0123456789abcdef',
      s.target_role,
      ...ownRoles
    ]
    for (const call of roleWrites) {
      for (const r of never) {
        await expect(
          s,
          role,
          { ...call, resources: call.resources.filter((x) => x.includes('{role}')) },
          { ...base, account, role: r },
          'ExplicitlyDenied',
          `the bot never writes on ${r}`
        )
      }
    }
  }

  // The target role trusts only the bot's task role, and only with the external id.
  const assume = calls.find((c) => c.api === 'sts:AssumeRole')
  const targetValues = { ...base, account: s.target_role_in_target.account, role: 'unused' }
  await expect(s, s.task_role, assume, targetValues, 'Denied', 'no external id')
  await expect(s, s.task_role, assume, targetValues, 'Denied', 'a wrong external id', { 'sts:ExternalId': 'guess' })
  await expect(s, s.execution_role, assume, targetValues, 'Denied', 'the execution role is not the bot', {
    'sts:ExternalId': s.external_id
  })

  // A narrower RevocableRolePattern leaves other roles alone.
  if (s.role_pattern) {
    for (const call of calls.filter((c) => c.resources.some((r) => r.includes('{role}')))) {
      for (const [role, account] of accountRoles) {
        await expect(s, role, call, { ...base, account, role: 'payments-db' }, 'Denied', 'outside RevocableRolePattern')
      }
    }
  }

  // Nothing granted that no call needs: every action a bot role allows is one some call uses.
  const needed = new Set(
    calls
      .filter((c) => c.caller === 'task_role' || c.caller === 'account_role')
      .flatMap((c) => c.actions)
  )
  for (const role of [s.task_role, s.target_role_in_target]) {
    for (const policy of role.policies) {
      for (const st of [policy.policy.Statement].flat()) {
        if (st.Effect !== 'Allow') continue
        for (const a of [st.Action].flat()) {
          checked += 1
          if (!needed.has(a)) fail(`${s.name}: ${role.logical} allows ${a}, which no call in src/aws/calls.rs needs`)
        }
      }
    }
  }
  // The running bot cannot read the whole trail, delete from it, or make tables.
  for (const action of ['dynamodb:Scan', 'dynamodb:DeleteItem', 'dynamodb:CreateTable', 'dynamodb:DeleteTable']) {
    const { decision } = await simulate(
      s.task_role,
      action,
      `arn:${p}:dynamodb:${s.region}:${s.task_role.account}:table/${s.table}`,
      s.task_role.account
    )
    if (decision === 'Allowed') fail(`${s.name}: the task role is allowed ${action}`)
  }
}

for (const f of failures.slice(0, 40)) console.log(`FAIL ${f}`)
if (failures.length > 40) console.log(`FAIL ... and ${failures.length - 40} more`)
console.log(
  `${failed ? 'FAIL' : 'ok  '} iam-simulate: ${checked} evaluations over ${scenarios.length} deployments, ${calls.length} calls; ${failed} wrong`
)
process.exit(failed ? 1 : 0)
