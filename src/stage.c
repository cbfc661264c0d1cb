/*-------------------------------------------------------------------------
 *
 * stage.c
 *		clm.lifecycle_stage: the customer's lifecycle stage (enum clm.stage)
 *		from purchase history, churn risk, the previous stage and a policy of
 *		thresholds.
 *
 * Rules, in order (the first that holds wins), with d = days since the last
 * purchase and age = days since the first:
 *	prospect	never bought (first_purchase NULL or orders = 0)
 *	churned		d > churn_days, or churn_risk >= churned_risk
 *	at_risk		d > at_risk_days, or d > at_risk_rhythm x the customer's
 *				own average gap (two or more orders), or churn_risk >=
 *				at_risk_risk
 *	reactivated	the previous stage was at_risk or churned (a win-back), or
 *				was reactivated and the customer is not yet loyal
 *	new			age <= new_days
 *	loyal		orders >= loyal_min_orders
 *	active		otherwise
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

static const char *const stage_labels[CLM_STAGE_COUNT] = {
	"prospect", "new", "active", "loyal", "at_risk", "churned", "reactivated"
};

static const ClmStagePolicy default_policy = {30, 5, 90, 180, 3, 0.7, 0.9};

/* per call site: the enum's label OIDs and the last policy parsed */
typedef struct StageCache
{
	Oid			label_oid[CLM_STAGE_COUNT];
	bytea	   *policy_raw;		/* copy of the last policy jsonb */
	ClmStagePolicy policy;
} StageCache;

static void
policy_field(void *arg, const char *key, double val)
{
	ClmStagePolicy *p = (ClmStagePolicy *) arg;

	if (strcmp(key, "new_days") == 0)
		p->new_days = val;
	else if (strcmp(key, "loyal_min_orders") == 0)
		p->loyal_min_orders = val;
	else if (strcmp(key, "at_risk_days") == 0)
		p->at_risk_days = val;
	else if (strcmp(key, "churn_days") == 0)
		p->churn_days = val;
	else if (strcmp(key, "at_risk_rhythm") == 0)
		p->at_risk_rhythm = val;
	else if (strcmp(key, "at_risk_risk") == 0)
		p->at_risk_risk = val;
	else if (strcmp(key, "churned_risk") == 0)
		p->churned_risk = val;
	else
		clm_invalid_arg(errmsg("policy has an unknown field \"%s\"", key),
						errhint("Fields: new_days, loyal_min_orders, at_risk_days, churn_days, at_risk_rhythm, at_risk_risk, churned_risk."));
}

/*
 * check_policy: every field in range and the thresholds consistent; errors
 * name the field.
 */
/* the longest day threshold: 100 years (a run turns days into intervals) */
#define POLICY_MAX_DAYS 36525.0

static void
check_policy(const ClmStagePolicy *p)
{
	const struct
	{
		const char *name;
		float8		value;
		float8		max;
	}			upper[] = {
		{"new_days", p->new_days, POLICY_MAX_DAYS},
		{"at_risk_days", p->at_risk_days, POLICY_MAX_DAYS},
		{"churn_days", p->churn_days, POLICY_MAX_DAYS},
		{"loyal_min_orders", p->loyal_min_orders, 1e9},
		{"at_risk_rhythm", p->at_risk_rhythm, 1000},
	};
	int			i;

	for (i = 0; i < (int) lengthof(upper); i++)
		if (upper[i].value > upper[i].max)
			clm_invalid_arg(errmsg("policy field %s must be at most %g", upper[i].name, upper[i].max),
							errdetail("The value is %g.", upper[i].value));
	if (p->new_days < 0)
		clm_invalid_arg(errmsg("policy field new_days must not be negative"),
						errdetail("The value is %g.", p->new_days));
	if (p->loyal_min_orders < 1 || p->loyal_min_orders != floor(p->loyal_min_orders))
		clm_invalid_arg(errmsg("policy field loyal_min_orders must be a whole number of at least 1"),
						errdetail("The value is %g.", p->loyal_min_orders));
	if (!(p->at_risk_days > 0))
		clm_invalid_arg(errmsg("policy field at_risk_days must be greater than 0"),
						errdetail("The value is %g.", p->at_risk_days));
	if (!(p->churn_days > p->at_risk_days))
		clm_invalid_arg(errmsg("policy field churn_days must be greater than at_risk_days"),
						errdetail("at_risk_days is %g, churn_days is %g.", p->at_risk_days, p->churn_days),
						errhint("A customer is at risk before churning."));
	if (p->at_risk_rhythm < 0)
		clm_invalid_arg(errmsg("policy field at_risk_rhythm must not be negative"),
						errdetail("The value is %g.", p->at_risk_rhythm),
						errhint("0 turns the rhythm rule off; 3 means overdue by three of the customer's usual gaps."));
	if (p->at_risk_risk < 0 || p->at_risk_risk > 1)
		clm_invalid_arg(errmsg("policy field at_risk_risk must be between 0 and 1"),
						errdetail("The value is %g.", p->at_risk_risk));
	if (p->churned_risk < 0 || p->churned_risk > 1)
		clm_invalid_arg(errmsg("policy field churned_risk must be between 0 and 1"),
						errdetail("The value is %g.", p->churned_risk));
	if (!(p->churned_risk > p->at_risk_risk))
		clm_invalid_arg(errmsg("policy field churned_risk must be greater than at_risk_risk"),
						errdetail("at_risk_risk is %g, churned_risk is %g.", p->at_risk_risk, p->churned_risk));
}

/*
 * clm_stage_policy_parse: defaults overridden by the fields of a jsonb
 * object (NULL: the defaults), checked.
 */
void
clm_stage_policy_parse(Jsonb *jb, ClmStagePolicy *p)
{
	*p = default_policy;
	if (jb != NULL)
		clm_jsonb_numbers(jb, "policy",
						  "For example '{\"churn_days\": 365}'; see clm.stage_policy_defaults().",
						  policy_field, p);
	check_policy(p);
}

/* clm_stage_label_oids: the OIDs of the enum's labels, in ClmStage order */
void
clm_stage_label_oids(Oid enumtype, Oid *oids)
{
	int			i;

	for (i = 0; i < CLM_STAGE_COUNT; i++)
		oids[i] = DatumGetObjectId(DirectFunctionCall2(enum_in,
													   CStringGetDatum(stage_labels[i]),
													   ObjectIdGetDatum(enumtype)));
}

static StageCache *
stage_cache(FunctionCallInfo fcinfo)
{
	StageCache *c = (StageCache *) fcinfo->flinfo->fn_extra;

	if (c == NULL)
	{
		Oid			enumtype = get_fn_expr_rettype(fcinfo->flinfo);

		if (!OidIsValid(enumtype))
			elog(ERROR, "lifecycle_stage: could not determine the result type");
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(StageCache));
		clm_stage_label_oids(enumtype, c->label_oid);
		fcinfo->flinfo->fn_extra = c;
	}
	return c;
}

/*
 * get_policy: the parsed policy, reusing the last one when the same jsonb
 * comes again (the common case: one policy for a whole query).
 */
static const ClmStagePolicy *
get_policy(FunctionCallInfo fcinfo, StageCache *c, int argno)
{
	Jsonb	   *jb;

	if (PG_ARGISNULL(argno))
	{
		if (c->policy_raw == NULL || VARSIZE(c->policy_raw) != VARHDRSZ)
		{
			clm_stage_policy_parse(NULL, &c->policy);
			if (c->policy_raw)
				pfree(c->policy_raw);
			c->policy_raw = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, VARHDRSZ);
			SET_VARSIZE(c->policy_raw, VARHDRSZ);
		}
		return &c->policy;
	}
	jb = PG_GETARG_JSONB_P(argno);
	if (c->policy_raw == NULL || VARSIZE(c->policy_raw) != VARSIZE(jb) ||
		memcmp(c->policy_raw, jb, VARSIZE(jb)) != 0)
	{
		clm_stage_policy_parse(jb, &c->policy);
		if (c->policy_raw)
			pfree(c->policy_raw);
		c->policy_raw = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE(jb));
		memcpy(c->policy_raw, jb, VARSIZE(jb));
	}
	return &c->policy;
}

static float8
days_between(TimestampTz from, TimestampTz to)
{
	return (float8) (to - from) / (float8) USECS_PER_DAY;
}

/*
 * clm_stage_classify: the rules of the file header, after checking the
 * inputs (as clm.lifecycle_stage does).  prev CLM_STAGE_COUNT: none.
 */
ClmStage
clm_stage_classify(const ClmStagePolicy *p, bool first_null, TimestampTz first,
				   bool last_null, TimestampTz last, bool orders_null, int64 orders,
				   TimestampTz as_of, bool risk_null, float8 risk, ClmStage prev)
{
	float8		d,
				age;

	if (first_null || orders_null || orders == 0)
		return CLM_STAGE_PROSPECT;
	if (last_null)
		last = first;
	if (TIMESTAMP_NOT_FINITE(first) || TIMESTAMP_NOT_FINITE(last) || TIMESTAMP_NOT_FINITE(as_of))
		clm_invalid_arg(errmsg("first_purchase, last_purchase and as_of must be finite timestamps"));
	if (orders < 0)
		clm_invalid_arg(errmsg("orders must not be negative"),
						errdetail("The value is " INT64_FORMAT ".", orders));
	if (last < first)
		clm_invalid_arg(errmsg("last_purchase must not be before first_purchase"));
	if (last > as_of)
		clm_invalid_arg(errmsg("last_purchase must not be after as_of"),
						errhint("Compute the stage as of a time after the customer's purchases."));
	if (risk_null)
		risk = -1;
	else if (!(risk >= 0 && risk <= 1))
		clm_invalid_arg(errmsg("churn_risk must be between 0 and 1"),
						errdetail("The value is %g.", risk));

	d = days_between(last, as_of);
	age = days_between(first, as_of);

	if (d > p->churn_days || (risk >= 0 && risk >= p->churned_risk))
		return CLM_STAGE_CHURNED;
	if (d > p->at_risk_days ||
		(p->at_risk_rhythm > 0 && orders >= 2 &&
		 d > p->at_risk_rhythm * days_between(first, last) / (float8) (orders - 1)) ||
		(risk >= 0 && risk >= p->at_risk_risk))
		return CLM_STAGE_AT_RISK;
	if (prev == CLM_STAGE_AT_RISK || prev == CLM_STAGE_CHURNED ||
		(prev == CLM_STAGE_REACTIVATED && orders < p->loyal_min_orders))
		return CLM_STAGE_REACTIVATED;
	if (age <= p->new_days)
		return CLM_STAGE_NEW;
	if (orders >= p->loyal_min_orders)
		return CLM_STAGE_LOYAL;
	return CLM_STAGE_ACTIVE;
}

/*
 * clm.lifecycle_stage(first_purchase, last_purchase, orders, as_of
 *					   [, churn_risk, previous_stage, policy])
 */
PG_FUNCTION_INFO_V1(clm_lifecycle_stage);
Datum
clm_lifecycle_stage(PG_FUNCTION_ARGS)
{
	StageCache *c = stage_cache(fcinfo);
	const ClmStagePolicy *p = get_policy(fcinfo, c, 6);
	ClmStage	prev = CLM_STAGE_COUNT;
	int			i;

	if (PG_ARGISNULL(3))
		clm_invalid_arg(errmsg("as_of must not be NULL"));
	if (!PG_ARGISNULL(5))
	{
		Oid			prev_oid = PG_GETARG_OID(5);

		for (i = 0; i < CLM_STAGE_COUNT; i++)
			if (c->label_oid[i] == prev_oid)
				prev = (ClmStage) i;
	}
	PG_RETURN_OID(c->label_oid[clm_stage_classify(p, PG_ARGISNULL(0), PG_ARGISNULL(0) ? 0 : PG_GETARG_TIMESTAMPTZ(0),
												  PG_ARGISNULL(1), PG_ARGISNULL(1) ? 0 : PG_GETARG_TIMESTAMPTZ(1),
												  PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2),
												  PG_GETARG_TIMESTAMPTZ(3), PG_ARGISNULL(4),
												  PG_ARGISNULL(4) ? 0 : PG_GETARG_FLOAT8(4), prev)]);
}

/* clm.stage_policy_defaults(): the default policy as jsonb */
PG_FUNCTION_INFO_V1(clm_stage_policy_defaults);
Datum
clm_stage_policy_defaults(PG_FUNCTION_ARGS)
{
	const ClmStagePolicy *p = &default_policy;
	char	   *s = psprintf("{\"new_days\": %g, \"loyal_min_orders\": %g, \"at_risk_days\": %g, "
							 "\"churn_days\": %g, \"at_risk_rhythm\": %g, \"at_risk_risk\": %g, "
							 "\"churned_risk\": %g}",
							 p->new_days, p->loyal_min_orders, p->at_risk_days, p->churn_days,
							 p->at_risk_rhythm, p->at_risk_risk, p->churned_risk);

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(s)));
}

/* clm.check_stage_policy(jsonb): validate a policy (defaults filled in) */
PG_FUNCTION_INFO_V1(clm_check_stage_policy);
Datum
clm_check_stage_policy(PG_FUNCTION_ARGS)
{
	ClmStagePolicy p;

	clm_stage_policy_parse(PG_GETARG_JSONB_P(0), &p);
	PG_RETURN_BOOL(true);
}
