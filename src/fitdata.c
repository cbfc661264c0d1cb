/*-------------------------------------------------------------------------
 *
 * fitdata.c
 *		The clm.fit_data type: the grouped (frequency, recency, tenure
 *		[, monetary]) rows a model fit needs, with weights, as a concrete
 *		varlena type so that partial aggregates can be split by parallel query
 *		and by Citus (which never splits an aggregate whose state is
 *		"internal", citusdata/citus#3916) and shipped between postgres_fdw
 *		shards as ordinary values.
 *
 * Layout: a header and an array of FitRow.  As an aggregate state the array
 * has spare capacity (zero-filled, counted in the varlena length) so rows
 * are appended in place; when it is full, identical rows are merged first
 * and the array doubles only if that did not free enough room.  Final
 * functions return a canonical copy: sorted, identical rows merged, no spare
 * capacity.  Text and binary forms round-trip exactly.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "funcapi.h"
#include "miscadmin.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "fitdata.h"

#define FIT_DATA_INITIAL_ROWS 64

/* header size of a FitData with no rows */
#define FIT_DATA_HDRSZ offsetof(FitData, rows)

/*
 * fit_data_alloc: a zeroed FitData with room for capacity rows, in mcxt.
 */
FitData *
fit_data_alloc(MemoryContext mcxt, uint8 flags, int64 capacity)
{
	FitData    *fd;
	Size		sz;

	if (capacity > (int64) ((MaxAllocSize - FIT_DATA_HDRSZ) / sizeof(FitRow)))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("fit_data cannot hold more than %d distinct rows",
						(int) ((MaxAllocSize - FIT_DATA_HDRSZ) / sizeof(FitRow))),
				 errhint("Round recency and tenure (e.g. to days) so that more customers share a row.")));
	sz = FIT_DATA_HDRSZ + capacity * sizeof(FitRow);
	fd = MemoryContextAllocZero(mcxt, sz);
	SET_VARSIZE(fd, sz);
	fd->version = FIT_DATA_VERSION;
	fd->flags = flags;
	fd->capacity = (int32) capacity;
	return fd;
}

/*
 * fit_data_check: validate a FitData that came from outside (a table, a
 * parameter): version, sizes and row values.
 */
void
fit_data_check(const FitData *fd)
{
	int32		i;

	if (VARSIZE(fd) < FIT_DATA_HDRSZ || fd->version != FIT_DATA_VERSION ||
		fd->nrows < 0 || fd->capacity < fd->nrows ||
		VARSIZE(fd) != FIT_DATA_HDRSZ + (Size) fd->capacity * sizeof(FitRow) ||
		(fd->flags & ~(FIT_RECENCY | FIT_MONETARY)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid clm.fit_data value")));
	for (i = 0; i < fd->nrows; i++)
		if (!(fd->rows[i].w > 0) || !isfinite(fd->rows[i].w))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid clm.fit_data value"),
					 errdetail("Row %d has weight %g.", i + 1, fd->rows[i].w)));
}

/*
 * fit_check_row: the rules every customer row obeys; errors name the
 * argument.  recency and tenure are skipped for monetary-only rows.
 */
void
fit_check_row(float8 x, float8 tx, float8 T, bool has_recency)
{
	clm_check_finite("frequency", x);
	if (x < 0)
		clm_invalid_arg(errmsg("frequency must not be negative"),
						errdetail("The value is %g.", x));
	if (x != floor(x))
		clm_invalid_arg(errmsg("frequency must be a whole number of repeat purchases"),
						errdetail("The value is %g.", x));
	if (!has_recency)
		return;
	clm_check_finite("recency", tx);
	clm_check_finite("tenure", T);
	if (!(T > 0))
		clm_invalid_arg(errmsg("tenure must be greater than 0"),
						errdetail("The value is %g.", T),
						errhint("A customer first seen on as_of has no observation time; use an as_of after the first purchase."));
	if (tx < 0)
		clm_invalid_arg(errmsg("recency must not be negative"),
						errdetail("The value is %g.", tx));
	if (tx > T)
		clm_invalid_arg(errmsg("recency must not exceed tenure"),
						errdetail("Recency is %g, tenure is %g.", tx, T));
	if (x == 0 && tx != 0)
		clm_invalid_arg(errmsg("recency must be 0 when frequency is 0"),
						errdetail("Recency is %g.", tx),
						errhint("Recency is the time from the first to the last purchase."));
}

static inline int
fitrow_cmp(const FitRow *x, const FitRow *y)
{
	if (x->x != y->x)
		return x->x < y->x ? -1 : 1;
	if (x->tx != y->tx)
		return x->tx < y->tx ? -1 : 1;
	if (x->T != y->T)
		return x->T < y->T ? -1 : 1;
	if (x->m != y->m)
		return x->m < y->m ? -1 : 1;
	return 0;
}

/*
 * sort_fitrows: qsort's algorithm (both come from lib/sort_template.h, so
 * rows end in the same order) with the comparison inlined: sorting is most
 * of the final step of a fit over a million customers.  Interruptible.
 */
#define ST_SORT sort_fitrows
#define ST_ELEMENT_TYPE FitRow
#define ST_COMPARE(a, b) fitrow_cmp(a, b)
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * fit_data_group: sort the rows and merge identical ones (weights add up).
 */
void
fit_data_group(FitData *fd)
{
	int32		i,
				out = 0;

	if (fd->nrows < 2)
		return;
	sort_fitrows(fd->rows, fd->nrows);
	for (i = 1; i < fd->nrows; i++)
	{
		if (fitrow_cmp(&fd->rows[i], &fd->rows[out]) == 0)
			fd->rows[out].w += fd->rows[i].w;
		else
			fd->rows[++out] = fd->rows[i];
	}
	fd->nrows = out + 1;
	/* keep spare capacity zeroed: it is part of the value */
	memset(fd->rows + fd->nrows, 0, (fd->capacity - fd->nrows) * sizeof(FitRow));
}

/*
 * fit_data_exact: a copy of a grouped fd with no spare capacity (only the
 * header is zeroed first: every row is copied over)
 */
static FitData *
fit_data_exact(const FitData *fd)
{
	Size		sz = FIT_DATA_HDRSZ + (Size) fd->nrows * sizeof(FitRow);
	FitData    *out = palloc(sz);

	memset(out, 0, FIT_DATA_HDRSZ);
	SET_VARSIZE(out, sz);
	out->version = FIT_DATA_VERSION;
	out->flags = fd->flags;
	out->nrows = out->capacity = fd->nrows;
	out->penalizer = fd->penalizer;
	memcpy(out->rows, fd->rows, (Size) fd->nrows * sizeof(FitRow));
	return out;
}

/*
 * fit_data_canonical: a sorted, grouped copy with no spare capacity.
 */
FitData *
fit_data_canonical(const FitData *fd)
{
	FitData    *out = fit_data_alloc(CurrentMemoryContext, fd->flags, fd->nrows);

	memcpy(out->rows, fd->rows, fd->nrows * sizeof(FitRow));
	out->nrows = fd->nrows;
	out->penalizer = fd->penalizer;
	fit_data_group(out);
	if (out->nrows < out->capacity)
		out = fit_data_exact(out);
	return out;
}

/*
 * make_room: ensure space for extra more rows.  Returns fd itself when it
 * could (the caller may modify it in place), else a larger copy allocated in
 * the current (per-call) context, which the executor then copies into the
 * aggregate context, freeing the old state.
 */
static FitData *
make_room(FitData *fd, int64 extra)
{
	FitData    *bigger;
	int64		need;

	if ((int64) fd->nrows + extra <= fd->capacity)
		return fd;
	if (!fd->no_regroup)
	{
		/*
		 * Merge identical rows before growing.  When that frees less than
		 * half the array (continuous recency and tenure: few duplicates), stop
		 * trying: the final function groups the rows once anyway.
		 */
		fit_data_group(fd);
		need = (int64) fd->nrows + extra;
		if (need <= fd->capacity && fd->nrows <= fd->capacity / 2)
			return fd;
		fd->no_regroup = 1;
	}
	need = (int64) fd->nrows + extra;
	bigger = fit_data_alloc(CurrentMemoryContext, fd->flags,
							Max(need, (int64) fd->capacity * 2));
	memcpy(bigger->rows, fd->rows, fd->nrows * sizeof(FitRow));
	bigger->nrows = fd->nrows;
	bigger->penalizer = fd->penalizer;
	bigger->no_regroup = fd->no_regroup;
	return bigger;
}

/*
 * check_flags: two inputs of one fit must describe the same kind of rows.
 */
static void
check_flags(FitData *fd, uint8 flags)
{
	if (fd->nrows == 0 && fd->flags == 0)
		fd->flags = flags;
	else if (flags != 0 && fd->flags != flags)
		clm_invalid_arg(errmsg("cannot combine fit_data with different columns"),
						errdetail("One has %s, the other %s.",
								  (fd->flags & FIT_MONETARY) ? ((fd->flags & FIT_RECENCY) ? "frequency, recency, tenure and monetary" : "frequency and monetary") : "frequency, recency and tenure",
								  (flags & FIT_MONETARY) ? ((flags & FIT_RECENCY) ? "frequency, recency, tenure and monetary" : "frequency and monetary") : "frequency, recency and tenure"));
}

/*
 * fit_data_state: the state argument, ready to be changed in place (inside
 * an aggregate) or a private copy (called directly), or a new empty state.
 */
static FitData *
fit_data_state(FunctionCallInfo fcinfo, uint8 flags)
{
	MemoryContext aggctx;

	if (PG_ARGISNULL(0))
	{
		if (!AggCheckCallContext(fcinfo, &aggctx))
			aggctx = CurrentMemoryContext;
		return fit_data_alloc(aggctx, flags, FIT_DATA_INITIAL_ROWS);
	}
	if (AggCheckCallContext(fcinfo, NULL))
		return (FitData *) PG_GETARG_POINTER(0);
	return (FitData *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0));
}

/*
 * fit_data_add: the transition step of every fitting aggregate.  Rows with
 * a NULL input are skipped.  nargs: 3 = (x, tx, T), 4 with monetary or
 * penalizer (per "fourth"), 2 = (x, m) for Gamma-Gamma.
 */
typedef enum FourthArg
{
	FOURTH_NONE,
	FOURTH_MONETARY,
	FOURTH_PENALIZER,
	FOURTH_WEIGHT
} FourthArg;

static Datum
fit_data_add(FunctionCallInfo fcinfo, uint8 flags, int nargs, FourthArg fourth)
{
	FitData    *fd;
	FitRow		row = {0, 0, 0, 0, 1};
	int			i;

	for (i = 1; i <= nargs; i++)
		if (PG_ARGISNULL(i))
		{
			if (PG_ARGISNULL(0))
				PG_RETURN_NULL();
			PG_RETURN_POINTER(fit_data_state(fcinfo, flags));
		}

	if (flags & FIT_RECENCY)
	{
		row.x = PG_GETARG_FLOAT8(1);
		row.tx = PG_GETARG_FLOAT8(2);
		row.T = PG_GETARG_FLOAT8(3);
		fit_check_row(row.x, row.tx, row.T, true);
		if (fourth == FOURTH_MONETARY)
		{
			row.m = PG_GETARG_FLOAT8(4);
			clm_check_finite("monetary", row.m);
		}
		else if (fourth == FOURTH_WEIGHT)
		{
			row.w = PG_GETARG_FLOAT8(4);
			clm_check_finite("weight", row.w);
			if (row.w < 0 || row.w >= 9.2e18)
				clm_invalid_arg(errmsg("weight must be between 0 and 9.2e18"),
								errdetail("The value is %g.", row.w),
								errhint("It is the number of customers with this history."));
		}
	}
	else
	{
		row.x = PG_GETARG_FLOAT8(1);
		row.m = PG_GETARG_FLOAT8(2);
		fit_check_row(row.x, 0, 0, false);
		clm_check_finite("monetary", row.m);
	}

	fd = fit_data_state(fcinfo, flags);
	check_flags(fd, flags);
	if (fourth == FOURTH_PENALIZER || (!(flags & FIT_RECENCY) && nargs == 3))
	{
		float8		pen = PG_GETARG_FLOAT8(nargs);

		fit_check_penalizer(pen);
		if (fd->nrows > 0 && fd->penalizer != pen)
			clm_invalid_arg(errmsg("penalizer must be the same for every row"));
		fd->penalizer = pen;
	}
	fd = make_room(fd, 1);
	fd->rows[fd->nrows++] = row;
	PG_RETURN_POINTER(fd);
}

void
fit_check_penalizer(float8 pen)
{
	clm_check_finite("penalizer", pen);
	if (pen < 0)
		clm_invalid_arg(errmsg("penalizer must not be negative"),
						errdetail("The value is %g.", pen),
						errhint("0 is plain maximum likelihood; small values such as 0.001 regularise."));
}

PG_FUNCTION_INFO_V1(clm_fit_data_trans);
Datum
clm_fit_data_trans(PG_FUNCTION_ARGS)
{
	return fit_data_add(fcinfo, FIT_RECENCY, 3, FOURTH_NONE);
}

PG_FUNCTION_INFO_V1(clm_fit_data_trans_monetary);
Datum
clm_fit_data_trans_monetary(PG_FUNCTION_ARGS)
{
	return fit_data_add(fcinfo, FIT_RECENCY | FIT_MONETARY, 4, FOURTH_MONETARY);
}

/* (frequency, recency, tenure, weight): a grouped row of weight customers */
PG_FUNCTION_INFO_V1(clm_fit_data_trans_weighted);
Datum
clm_fit_data_trans_weighted(PG_FUNCTION_ARGS)
{
	return fit_data_add(fcinfo, FIT_RECENCY, 4, FOURTH_WEIGHT);
}

PG_FUNCTION_INFO_V1(clm_fit_data_trans_penalized);
Datum
clm_fit_data_trans_penalized(PG_FUNCTION_ARGS)
{
	return fit_data_add(fcinfo, FIT_RECENCY, 4, FOURTH_PENALIZER);
}

PG_FUNCTION_INFO_V1(clm_fit_data_trans_gg);
Datum
clm_fit_data_trans_gg(PG_FUNCTION_ARGS)
{
	return fit_data_add(fcinfo, FIT_MONETARY, 2, FOURTH_NONE);
}

PG_FUNCTION_INFO_V1(clm_fit_data_trans_gg_penalized);
Datum
clm_fit_data_trans_gg_penalized(PG_FUNCTION_ARGS)
{
	return fit_data_add(fcinfo, FIT_MONETARY, 3, FOURTH_NONE);
}

/*
 * clm_fit_data_combine: merge two states; also the transition function of
 * clm.fit_data_merge, whose inputs come from tables and so are detoasted
 * and checked.
 */
PG_FUNCTION_INFO_V1(clm_fit_data_combine);
Datum
clm_fit_data_combine(PG_FUNCTION_ARGS)
{
	FitData    *a,
			   *b;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = (FitData *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	fit_data_check(b);
	/* the executor copies a returned new datum into its own context */
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(b);
	a = fit_data_state(fcinfo, b->flags);
	if (b->nrows == 0)
		PG_RETURN_POINTER(a);
	check_flags(a, b->flags);
	if (a->nrows > 0 && a->penalizer != b->penalizer)
		clm_invalid_arg(errmsg("cannot combine fit_data with different penalizers"),
						errdetail("The penalizers are %g and %g.", a->penalizer, b->penalizer));
	a->penalizer = b->penalizer;
	a = make_room(a, b->nrows);
	memcpy(a->rows + a->nrows, b->rows, b->nrows * sizeof(FitRow));
	a->nrows += b->nrows;
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(clm_fit_data_final);
Datum
clm_fit_data_final(PG_FUNCTION_ARGS)
{
	FitData    *fd;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	fd = (FitData *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	if (AggCheckCallContext(fcinfo, NULL))
	{
		/*
		 * The aggregate's own state: grouped in place, which changes its
		 * layout but not the rows it stands for (a second call gives the
		 * same), then copied once without its spare capacity.  At a million
		 * customers the canonical copy's extra zeroed copy of every row
		 * was most of the final step.
		 */
		fit_data_group(fd);
		PG_RETURN_POINTER(fit_data_exact(fd));
	}
	PG_RETURN_POINTER(fit_data_canonical(fd));
}

/* ---------- text and binary forms ---------- */

static void
append_float(StringInfo buf, float8 v)
{
	char		s[DOUBLE_SHORTEST_DECIMAL_LEN];

	/* shortest decimal that reads back to the same double */
	double_to_shortest_decimal_buf(v, s);
	appendStringInfoString(buf, s);
}

/*
 * Text form: [penalizer=P;]{(x,tx,T,w),...}, {(x,tx,T,m,w),...} or, for
 * Gamma-Gamma data, {(x,m,w),...}; "{}" when empty.
 */
PG_FUNCTION_INFO_V1(clm_fit_data_out);
Datum
clm_fit_data_out(PG_FUNCTION_ARGS)
{
	FitData    *fd = (FitData *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buf;
	int32		i;

	initStringInfo(&buf);
	if (fd->penalizer != 0)
	{
		appendStringInfoString(&buf, "penalizer=");
		append_float(&buf, fd->penalizer);
		appendStringInfoChar(&buf, ';');
	}
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < fd->nrows; i++)
	{
		const FitRow *r = &fd->rows[i];

		appendStringInfoString(&buf, i ? ",(" : "(");
		append_float(&buf, r->x);
		appendStringInfoChar(&buf, ',');
		if (fd->flags & FIT_RECENCY)
		{
			append_float(&buf, r->tx);
			appendStringInfoChar(&buf, ',');
			append_float(&buf, r->T);
			appendStringInfoChar(&buf, ',');
		}
		if (fd->flags & FIT_MONETARY)
		{
			append_float(&buf, r->m);
			appendStringInfoChar(&buf, ',');
		}
		append_float(&buf, r->w);
		appendStringInfoChar(&buf, ')');
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

static void
syntax_error(const char *str, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type clm.fit_data: \"%s\"", str),
			 errdetail("%s", why),
			 errhint("The form is {(frequency,recency,tenure,weight),...}, with monetary before weight when present, or {(frequency,monetary,weight),...}.")));
}

static float8
parse_number(const char *str, const char **p)
{
	char	   *end;
	float8		v;

	while (isspace((unsigned char) **p))
		(*p)++;
	errno = 0;
	v = strtod(*p, &end);
	if (end == *p || errno == ERANGE || isnan(v) || isinf(v))
		syntax_error(str, "Expected a finite number.");
	*p = end;
	while (isspace((unsigned char) **p))
		(*p)++;
	return v;
}

PG_FUNCTION_INFO_V1(clm_fit_data_in);
Datum
clm_fit_data_in(PG_FUNCTION_ARGS)
{
	const char *str = PG_GETARG_CSTRING(0);
	const char *p = str;
	float8		pen = 0;
	int			ncols = -1;
	FitData    *fd;
	uint8		flags = 0;

	fd = fit_data_alloc(CurrentMemoryContext, 0, FIT_DATA_INITIAL_ROWS);
	while (isspace((unsigned char) *p))
		p++;
	if (strncmp(p, "penalizer=", 10) == 0)
	{
		p += 10;
		pen = parse_number(str, &p);
		if (*p++ != ';')
			syntax_error(str, "Expected \";\" after the penalizer.");
		fit_check_penalizer(pen);
		while (isspace((unsigned char) *p))
			p++;
	}
	if (*p++ != '{')
		syntax_error(str, "Expected \"{\".");
	while (isspace((unsigned char) *p))
		p++;
	while (*p != '}')
	{
		float8		v[5];
		int			n = 0;
		FitRow		row = {0, 0, 0, 0, 0};

		CHECK_FOR_INTERRUPTS();	/* a text value can hold 10^8 rows */
		if (fd->nrows > 0 && *p++ != ',')
			syntax_error(str, "Expected \",\" between rows.");
		while (isspace((unsigned char) *p))
			p++;
		if (*p++ != '(')
			syntax_error(str, "Expected \"(\".");
		for (;;)
		{
			if (n == 5)
				syntax_error(str, "A row has at most 5 numbers.");
			v[n++] = parse_number(str, &p);
			if (*p == ',')
				p++;
			else if (*p == ')')
			{
				p++;
				break;
			}
			else
				syntax_error(str, "Expected \",\" or \")\" in a row.");
		}
		if (ncols < 0)
		{
			ncols = n;
			flags = (n == 4) ? FIT_RECENCY : (n == 5) ? FIT_RECENCY | FIT_MONETARY :
				(n == 3) ? FIT_MONETARY : 0;
			if (flags == 0)
				syntax_error(str, "A row has 3, 4 or 5 numbers.");
			fd->flags = flags;
		}
		else if (n != ncols)
			syntax_error(str, "All rows must have the same number of values.");

		row.x = v[0];
		if (flags & FIT_RECENCY)
		{
			row.tx = v[1];
			row.T = v[2];
			if (flags & FIT_MONETARY)
				row.m = v[3];
		}
		else
			row.m = v[1];
		row.w = v[n - 1];
		fit_check_row(row.x, row.tx, row.T, (flags & FIT_RECENCY) != 0);
		if (!(row.w > 0))
			clm_invalid_arg(errmsg("weight must be greater than 0"),
							errdetail("The value is %g.", row.w));
		fd = make_room(fd, 1);
		fd->rows[fd->nrows++] = row;
		while (isspace((unsigned char) *p))
			p++;
		if (*p == '\0')
			syntax_error(str, "Expected \"}\".");
	}
	p++;
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		syntax_error(str, "Unexpected text after \"}\".");
	fd->penalizer = pen;
	PG_RETURN_POINTER(fit_data_canonical(fd));
}

/* binary form: version, flags, penalizer, nrows, then the values of each row */
PG_FUNCTION_INFO_V1(clm_fit_data_send);
Datum
clm_fit_data_send(PG_FUNCTION_ARGS)
{
	FitData    *fd = (FitData *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buf;
	int32		i;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, fd->version);
	pq_sendbyte(&buf, fd->flags);
	pq_sendfloat8(&buf, fd->penalizer);
	pq_sendint32(&buf, fd->nrows);
	for (i = 0; i < fd->nrows; i++)
	{
		pq_sendfloat8(&buf, fd->rows[i].x);
		pq_sendfloat8(&buf, fd->rows[i].tx);
		pq_sendfloat8(&buf, fd->rows[i].T);
		pq_sendfloat8(&buf, fd->rows[i].m);
		pq_sendfloat8(&buf, fd->rows[i].w);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(clm_fit_data_recv);
Datum
clm_fit_data_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgbyte(buf);
	uint8		flags = pq_getmsgbyte(buf);
	float8		pen = pq_getmsgfloat8(buf);
	int32		n = pq_getmsgint(buf, 4),
				i;
	FitData    *fd;

	if (version != FIT_DATA_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported clm.fit_data version %d", version)));
	if (n < 0 || (int64) n * 40 != buf->len - buf->cursor ||
		(flags & ~(FIT_RECENCY | FIT_MONETARY)) != 0 || (n > 0 && flags == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary clm.fit_data")));
	fit_check_penalizer(pen);
	fd = fit_data_alloc(CurrentMemoryContext, flags, n);
	fd->penalizer = pen;
	for (i = 0; i < n; i++)
	{
		FitRow	   *r = &fd->rows[i];

		CHECK_FOR_INTERRUPTS();
		r->x = pq_getmsgfloat8(buf);
		r->tx = pq_getmsgfloat8(buf);
		r->T = pq_getmsgfloat8(buf);
		r->m = pq_getmsgfloat8(buf);
		r->w = pq_getmsgfloat8(buf);
		fit_check_row(r->x, r->tx, r->T, (flags & FIT_RECENCY) != 0);
		if ((flags & FIT_MONETARY))
			clm_check_finite("monetary", r->m);
		if (!(r->w > 0) || !isfinite(r->w))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary clm.fit_data"),
					 errdetail("Row %d has weight %g.", i + 1, r->w)));
	}
	fd->nrows = n;
	PG_RETURN_POINTER(fd);
}

/* clm.fit_data_rows(fit_data): distinct rows; clm.fit_data_customers: total weight */
PG_FUNCTION_INFO_V1(clm_fit_data_rows);
Datum
clm_fit_data_rows(PG_FUNCTION_ARGS)
{
	FitData    *fd = (FitData *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));

	PG_RETURN_INT32(fd->nrows);
}

PG_FUNCTION_INFO_V1(clm_fit_data_customers);
Datum
clm_fit_data_customers(PG_FUNCTION_ARGS)
{
	FitData    *fd = (FitData *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	float8		w = 0;
	int32		i;

	for (i = 0; i < fd->nrows; i++)
		w += fd->rows[i].w;
	PG_RETURN_FLOAT8(w);
}

/*
 * fit_data_unnest(fit_data) RETURNS TABLE (frequency, recency, tenure,
 * monetary, weight): the distinct customer rows of the data and how many
 * customers share each (columns the data does not carry are NULL).  A job's
 * full refresh computes its high-value CLV cut from them, one CLV per
 * distinct row, instead of reading the source once more.
 */
PG_FUNCTION_INFO_V1(clm_fit_data_unnest);
Datum
clm_fit_data_unnest(PG_FUNCTION_ARGS)
{
	FitData    *fd = (FitData *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		recency = (fd->flags & FIT_RECENCY) != 0;
	bool		monetary = (fd->flags & FIT_MONETARY) != 0;
	int32		i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < fd->nrows; i++)
	{
		const FitRow *r = &fd->rows[i];
		Datum		values[5];
		bool		nulls[5] = {false, !recency, !recency, !monetary, false};

		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		values[0] = Float8GetDatum(r->x);
		values[1] = Float8GetDatum(r->tx);
		values[2] = Float8GetDatum(r->T);
		values[3] = Float8GetDatum(r->m);
		values[4] = Float8GetDatum(r->w);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
