/*-------------------------------------------------------------------------
 *
 * cron.c
 *		Job schedules: an interval or a 5-field cron expression, and the next
 *		time a schedule fires after a given instant, in the job's time zone.
 *
 * A cron expression has the fields minute (0-59), hour (0-23), day of month
 * (1-31), month (1-12 or jan-dec) and day of week (0-7 or sun-sat, 0 and 7
 * both Sunday).  A field is a comma-separated list of items; an item is '*',
 * a value, or a range a-b, optionally followed by /step ('a/step' means
 * a-max/step).  As in Vixie cron, when both the day-of-month and the
 * day-of-week field are restricted (neither starts with '*'), a day matches
 * if either matches; otherwise both must.  @yearly, @annually, @monthly,
 * @weekly, @daily, @midnight and @hourly stand for the usual expressions.
 *
 * Slots are local wall-clock times of the job's time zone.  Daylight saving
 * time is handled the way operators expect from cron:
 *	- a slot inside a spring-forward gap (02:30 when the clocks jump from
 *	  02:00 to 03:00) fires once, at the end of the gap;
 *	- a slot in a fall-back overlap (01:30 twice) fires once, at its first
 *	  occurrence;
 *	- except that a schedule whose hour field starts with '*' (it runs every
 *	  hour or every n hours) follows real time: it skips the gap and fires in
 *	  both copies of the repeated hour.
 *
 * An interval schedule fires at after + interval, the months and days of the
 * interval added to the local date (so '1 day' keeps the local time of day
 * across a DST change) and the rest in absolute time.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include "pgtime.h"
#include "common/int.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

/* seconds between the Unix epoch and PostgreSQL's 2000-01-01 epoch */
#define EPOCH_DIFF_SECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

/* the furthest ahead a cron search looks (Feb 29 on a Monday is 28 years) */
#define CRON_HORIZON_YEARS 30

/* how far a DST change can move the wall clock; bounds the search window */
#define DST_WINDOW_SECS (3 * SECS_PER_HOUR)

typedef struct ClmSchedule
{
	bool		is_cron;
	Interval	every;			/* interval schedule */
	uint64		minutes;		/* bit i: minute i matches */
	uint32		hours;
	uint32		days;			/* bits 1-31 */
	uint32		months;			/* bits 1-12 */
	uint32		dows;			/* bits 0-6, Sunday = 0 */
	bool		dom_star;		/* day-of-month field starts with '*' */
	bool		dow_star;
	bool		hour_star;
} ClmSchedule;

static const char *const field_name[5] = {
	"minute", "hour", "day-of-month", "month", "day-of-week"
};
static const int field_lo[5] = {0, 0, 1, 1, 0};
static const int field_hi[5] = {59, 23, 31, 12, 7};
static const char *const month_names[12] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"
};
static const char *const dow_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static void
cron_error(const char *spec, int field, const char *fmt, const char *what)
{
	char		detail[200];

	snprintf(detail, sizeof(detail), fmt, what);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid schedule \"%s\": %s in the %s field", spec, detail,
					field_name[field]),
			 errhint("A cron schedule has 5 fields: minute (0-59), hour (0-23), day of month (1-31), "
					 "month (1-12 or jan-dec), day of week (0-7 or sun-sat); each a list of *, n, a-b, "
					 "with an optional /step.")));
}

/*
 * cron_bad_char: "unexpected character" naming the whole character at s (a
 * multibyte character in the server encoding is copied whole: one byte of
 * it would make the message invalid text, which a client in another
 * encoding cannot even receive)
 */
static void
cron_bad_char(const char *spec, int field, const char *s)
{
	char		c[MAX_MULTIBYTE_CHAR_LEN + 1];
	int			len = Min(pg_mblen(s), (int) strnlen(s, MAX_MULTIBYTE_CHAR_LEN));

	memcpy(c, s, len);
	c[len] = '\0';
	cron_error(spec, field, "unexpected character \"%s\"", c);
}

/*
 * parse_value: a number or (month, day-of-week) a three-letter name at *p;
 * advances *p.
 */
static int
parse_value(const char *spec, int field, const char **p)
{
	const char *s = *p;
	int			v = 0;

	if (*s >= '0' && *s <= '9')
	{
		while (*s >= '0' && *s <= '9')
		{
			v = v * 10 + (*s - '0');
			if (v > 1000)
				cron_error(spec, field, "%s", "number too large");
			s++;
		}
		if (v < field_lo[field] || v > field_hi[field])
		{
			char		buf[64];

			snprintf(buf, sizeof(buf), "value %d out of range %d-%d", v,
					 field_lo[field], field_hi[field]);
			cron_error(spec, field, "%s", buf);
		}
		*p = s;
		return v;
	}
	if ((field == 3 || field == 4) &&
		((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
	{
		char		name[4];
		int			n = 0,
					i;

		while (n < 3 && ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z')))
		{
			name[n] = (char) pg_ascii_tolower((unsigned char) s[n]);
			n++;
		}
		name[n] = '\0';
		if (n == 3 && !((s[3] >= 'a' && s[3] <= 'z') || (s[3] >= 'A' && s[3] <= 'Z')))
		{
			for (i = 0; i < (field == 3 ? 12 : 7); i++)
				if (strcmp(name, field == 3 ? month_names[i] : dow_names[i]) == 0)
				{
					*p = s + 3;
					return field == 3 ? i + 1 : i;
				}
		}
		cron_error(spec, field, "unknown name starting \"%s\"", name);
	}
	if (*s == '\0')
		cron_error(spec, field, "%s", "missing value");
	cron_bad_char(spec, field, s);
	return 0;					/* not reached */
}

/*
 * parse_field: one field (NUL-terminated) into a bit mask; *star says whether
 * it starts with '*'.
 */
static uint64
parse_field(const char *spec, int field, const char *s, bool *star)
{
	uint64		mask = 0;

	*star = (*s == '*');
	for (;;)
	{
		int			a,
					b,
					step = 1,
					v;

		if (*s == '*')
		{
			a = field_lo[field];
			b = field_hi[field];
			s++;
		}
		else
		{
			a = parse_value(spec, field, &s);
			b = a;
			if (*s == '-')
			{
				s++;
				b = parse_value(spec, field, &s);
				if (b < a)
				{
					char		buf[64];

					snprintf(buf, sizeof(buf), "range %d-%d goes backwards", a, b);
					cron_error(spec, field, "%s", buf);
				}
			}
			else if (*s == '/')
				b = field_hi[field];	/* a/step: from a to the end */
		}
		if (*s == '/')
		{
			s++;
			if (!(*s >= '0' && *s <= '9'))
				cron_error(spec, field, "%s", "step must be a number");
			step = 0;
			while (*s >= '0' && *s <= '9')
			{
				step = step * 10 + (*s - '0');
				if (step > 1000)
					break;
				s++;
			}
			if (step < 1 || step > field_hi[field] - field_lo[field] + 1)
			{
				char		buf[64];

				snprintf(buf, sizeof(buf), "step must be between 1 and %d",
						 field_hi[field] - field_lo[field] + 1);
				cron_error(spec, field, "%s", buf);
			}
		}
		for (v = a; v <= b; v += step)
			mask |= UINT64CONST(1) << v;
		if (*s == ',')
		{
			s++;
			continue;
		}
		if (*s != '\0')
			cron_bad_char(spec, field, s);
		break;
	}
	return mask;
}

static int
days_in_month(int year, int month)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month == 2 && isleap(year))
		return 29;
	return mdays[month - 1];
}

/*
 * parse_cron: the five fields of a cron expression (already split).
 */
static void
parse_cron(const char *spec, char **fields, ClmSchedule *sch)
{
	bool		star;
	uint64		dow;
	int			m;

	sch->is_cron = true;
	sch->minutes = parse_field(spec, 0, fields[0], &star);
	sch->hours = (uint32) parse_field(spec, 1, fields[1], &sch->hour_star);
	sch->days = (uint32) parse_field(spec, 2, fields[2], &sch->dom_star);
	sch->months = (uint32) parse_field(spec, 3, fields[3], &star);
	dow = parse_field(spec, 4, fields[4], &sch->dow_star);
	if (dow & (UINT64CONST(1) << 7))
		dow = (dow | 1) & ~(UINT64CONST(1) << 7);	/* 7 is Sunday too */
	sch->dows = (uint32) dow;

	/*
	 * When the day of week does not widen the match (OR rule), some chosen
	 * day of month must exist in some chosen month, or the job never runs.
	 */
	if (sch->dom_star || sch->dow_star)
	{
		for (m = 1; m <= 12; m++)
			if ((sch->months & (1U << m)) &&
				(sch->days & ((UINT64CONST(1) << (days_in_month(2000, m) + 1)) - 2)))
				return;
		cron_error(spec, 2, "%s", "no chosen day exists in any chosen month");
	}
}

/*
 * parse_interval: the interval syntax of interval_in, without its errors
 * (false when the text is not an interval).
 */
static bool
parse_interval(const char *spec, Interval *result)
{
	char		workbuf[256];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf,
				dtype = 0;
	struct pg_itm_in itm;
	int			rc;

	memset(&itm, 0, sizeof(itm));
	rc = ParseDateTime(spec, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf);
	if (rc == 0)
		rc = DecodeInterval(field, ftype, nf, INTERVAL_FULL_RANGE, &dtype, &itm);
	if (rc == DTERR_BAD_FORMAT)
	{
		char	   *copy = pstrdup(spec);

		memset(&itm, 0, sizeof(itm));
		rc = DecodeISO8601Interval(copy, &dtype, &itm);
	}
	if (rc != 0 || dtype != DTK_DELTA)
		return false;
	return itmin2interval(&itm, result) == 0;
}

/*
 * clm_parse_schedule: a schedule text into *sch, or ERROR 22023 naming the
 * field at fault.  Five whitespace-separated fields (or an @ macro) make a
 * cron expression; anything else must be a positive interval.
 */
static void
clm_parse_schedule(const char *spec, ClmSchedule *sch)
{
	char	   *copy;
	char	   *fields[5];
	int			nf = 0;
	char	   *p;

	memset(sch, 0, sizeof(*sch));
	if (strlen(spec) > 200)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid schedule: longer than 200 characters")));
	copy = pstrdup(spec);
	p = copy;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '@')
	{
		static const char *const macros[][2] = {
			{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"},
			{"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
			{"@daily", "0 0 * * *"}, {"@midnight", "0 0 * * *"},
			{"@hourly", "0 * * * *"}
		};
		char	   *end = p + strlen(p);
		int			i;

		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		for (i = 0; i < (int) lengthof(macros); i++)
			if (pg_strcasecmp(p, macros[i][0]) == 0)
			{
				char	   *expanded = pstrdup(macros[i][1]);
				char	   *save;

				for (nf = 0, p = strtok_r(expanded, " ", &save); p; p = strtok_r(NULL, " ", &save))
					fields[nf++] = p;
				parse_cron(spec, fields, sch);
				return;
			}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid schedule \"%s\": unknown macro", spec),
				 errhint("Macros: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly.")));
	}
	for (;;)
	{
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (nf < 5)
			fields[nf] = p;
		nf++;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	if (nf == 5)
	{
		parse_cron(spec, fields, sch);
		return;
	}
	/* cron characters: the interval parser would read a 4-field cron line as 10 seconds */
	if (strpbrk(spec, "*,/") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid schedule \"%s\": a cron expression needs 5 fields, not %d", spec, nf),
				 errhint("The fields are: minute hour day-of-month month day-of-week.")));
	if (!parse_interval(spec, &sch->every))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid schedule \"%s\": neither an interval nor a 5-field cron expression", spec),
				 errhint("Write an interval ('15 minutes', '1 day') or cron fields "
						 "'minute hour day-of-month month day-of-week' ('*/10 * * * *', '0 3 * * *').")));
	if (sch->every.month < 0 || sch->every.day < 0 || sch->every.time < 0 ||
		(sch->every.month == 0 && sch->every.day == 0 && sch->every.time == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid schedule \"%s\": an interval schedule must be positive", spec),
				 errhint("Every part (months, days, time) must be zero or more, and one more than zero.")));
	/*
	 * at least a second (as pg_cron: a job runs at most once a second) and
	 * at most 100 years, so that a run's next slot and its retries stay
	 * timestamps (finding 8 of issue 17: '178000000 years' overflowed)
	 */
	{
		double		secs = sch->every.time / 1e6 + sch->every.day * 86400.0 +
			sch->every.month * 30.0 * 86400.0;

		if (secs < 1 || sch->every.month > 1200 || sch->every.day > 36525 ||
			secs > 100 * 365.25 * 86400.0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid schedule \"%s\": an interval schedule must be between 1 second and 100 years", spec)));
	}
}

/* ---------- time arithmetic on local wall-clock seconds ---------- */

/*
 * to_timestamptz: Unix seconds plus microseconds as a timestamptz, or
 * ERROR 22008 outside the timestamptz range (checked before multiplying,
 * which could overflow).
 */
static TimestampTz
to_timestamptz(int64 secs, int64 usecs)
{
	int64		pg_secs = secs - EPOCH_DIFF_SECS;
	TimestampTz result;

	if (pg_secs < MIN_TIMESTAMP / USECS_PER_SEC - 1 || pg_secs > END_TIMESTAMP / USECS_PER_SEC ||
		!IS_VALID_TIMESTAMP(result = pg_secs * USECS_PER_SEC + usecs))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return result;
}

/* UTC offset (seconds east) of time zone tz at instant t (Unix seconds) */
static long
offset_at(pg_time_t t, const pg_tz *tz)
{
	struct pg_tm *tm = pg_localtime(&t, tz);

	if (tm == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return tm->tm_gmtoff;
}

/*
 * wall_instants: the instants (Unix seconds) at which the local wall clock
 * of tz reads w (wall seconds since 1970-01-01 00:00 local).  Returns how
 * many (0: w is in a spring-forward gap, then *gap_end is the first instant
 * after it; 2: w is in a fall-back overlap, earlier first).
 */
static int
wall_instants(int64 w, const pg_tz *tz, pg_time_t *out, pg_time_t *gap_end)
{
	long		before = offset_at((pg_time_t) (w - 2 * SECS_PER_DAY), tz);
	long		after = offset_at((pg_time_t) (w + 2 * SECS_PER_DAY), tz);
	pg_time_t	a = (pg_time_t) (w - before);
	pg_time_t	b = (pg_time_t) (w - after);
	int			n = 0;

	if (offset_at(a, tz) == before)
		out[n++] = a;
	if (before != after && offset_at(b, tz) == after)
		out[n++] = b;
	if (n == 2 && out[1] < out[0])
	{
		pg_time_t	t = out[0];

		out[0] = out[1];
		out[1] = t;
	}
	if (n == 0)
	{
		/* gap: the offset changes between b (before the gap) and a */
		pg_time_t	lo = Min(a, b),
					hi = Max(a, b);

		while (hi - lo > 1)
		{
			pg_time_t	mid = lo + (hi - lo) / 2;

			if (offset_at(mid, tz) == offset_at(lo, tz))
				lo = mid;
			else
				hi = mid;
		}
		*gap_end = hi;
	}
	return n;
}

/* wall seconds of a local date and time */
static int64
wall_of(int year, int month, int day, int64 secs_of_day)
{
	return (int64) (date2j(year, month, day) - UNIX_EPOCH_JDATE) * SECS_PER_DAY + secs_of_day;
}

static bool
day_matches(const ClmSchedule *sch, const struct pg_tm *tm)
{
	bool		dom = (sch->days & (1U << tm->tm_mday)) != 0;
	bool		dow = (sch->dows & (1U << tm->tm_wday)) != 0;

	return (sch->dom_star || sch->dow_star) ? (dom && dow) : (dom || dow);
}

/*
 * next_wall_match: the first wall minute >= w (a multiple of 60) the cron
 * fields match, skipping whole months, days and hours; false past limit.
 */
static bool
next_wall_match(const ClmSchedule *sch, int64 w, int64 limit, int64 *result)
{
	while (w <= limit)
	{
		pg_time_t	pt = (pg_time_t) w;
		struct pg_tm *tm = pg_gmtime(&pt);
		int			year,
					month;

		CHECK_FOR_INTERRUPTS();
		if (tm == NULL)
			return false;
		year = tm->tm_year + 1900;
		month = tm->tm_mon + 1;
		if (!(sch->months & (1U << month)))
		{
			w = month == 12 ? wall_of(year + 1, 1, 1, 0) : wall_of(year, month + 1, 1, 0);
			continue;
		}
		if (!day_matches(sch, tm))
		{
			w = wall_of(year, month, tm->tm_mday, 0) + SECS_PER_DAY;
			continue;
		}
		if (!(sch->hours & (1U << tm->tm_hour)))
		{
			w += (int64) (60 - tm->tm_min) * 60;
			continue;
		}
		if (!(sch->minutes & (UINT64CONST(1) << tm->tm_min)))
		{
			w += 60;
			continue;
		}
		*result = w;
		return true;
	}
	return false;
}

/*
 * cron_next: the first instant strictly after `after` (Unix seconds plus
 * usec) at which the cron schedule fires in tz; false if none within the
 * horizon.  Wall times are scanned in order; around a fall-back the
 * instants are not in wall order, so the scan goes on a DST window past the
 * first hit and keeps the earliest.
 */
static bool
cron_next(const ClmSchedule *sch, pg_time_t after, const pg_tz *tz, pg_time_t *result)
{
	int64		wall_after = (int64) after + offset_at(after, tz);
	int64		w = wall_after - wall_after % 60 - DST_WINDOW_SECS;
	int64		limit = wall_after + (int64) CRON_HORIZON_YEARS * 366 * SECS_PER_DAY;
	bool		found = false;
	int64		best_wall = 0;

	if (wall_after % 60 < 0)
		w -= 60;
	while (next_wall_match(sch, w, found ? best_wall + DST_WINDOW_SECS : limit, &w))
	{
		pg_time_t	inst[2],
					gap_end = 0;
		int			n = wall_instants(w, tz, inst, &gap_end),
					i;

		if (n == 0 && !sch->hour_star)
		{
			inst[0] = gap_end;	/* a fixed slot in the gap fires at its end */
			n = 1;
		}
		else if (n == 2 && !sch->hour_star)
			n = 1;				/* a fixed slot fires at its first occurrence */
		for (i = 0; i < n; i++)
			if (inst[i] > after && (!found || inst[i] < *result))
			{
				*result = inst[i];
				best_wall = w;
				found = true;
			}
		w += 60;
	}
	return found;
}

/*
 * interval_next: after + every in tz: months and days on the local date,
 * the time part in absolute time.
 */
static TimestampTz
interval_next(const Interval *every, TimestampTz after, const pg_tz *tz)
{
	TimestampTz result = after;

	if (every->month != 0 || every->day != 0)
	{
		int64		usecs = after + EPOCH_DIFF_SECS * USECS_PER_SEC;
		pg_time_t	secs = (pg_time_t) (usecs / USECS_PER_SEC);
		int64		frac = usecs % USECS_PER_SEC;
		int64		wall;
		struct pg_tm tmcopy;
		struct pg_tm *tm;
		int64		months;
		int			year,
					month,
					day;
		pg_time_t	inst[2],
					gap_end = 0;

		if (frac < 0)
		{
			frac += USECS_PER_SEC;
			secs -= 1;
		}
		wall = (int64) secs + offset_at(secs, tz);
		{
			pg_time_t	pw = (pg_time_t) wall;

			tm = pg_gmtime(&pw);
			if (tm == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
						 errmsg("timestamp out of range")));
			tmcopy = *tm;
		}
		/*
		 * months since year 0 (1 BC, as pg_gmtime counts): negative before
		 * it, so the year is the floor of months / 12, not C's truncation
		 */
		months = (int64) (tmcopy.tm_year + 1900) * 12 + tmcopy.tm_mon + every->month;
		year = (int) (months / 12 - (months % 12 < 0 ? 1 : 0));
		month = (int) (months - (int64) year * 12) + 1;
		if (year > 300000)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		day = Min(tmcopy.tm_mday, days_in_month(year, month));
		wall = wall_of(year, month, day,
					   (int64) tmcopy.tm_hour * 3600 + tmcopy.tm_min * 60 + tmcopy.tm_sec) +
			(int64) every->day * SECS_PER_DAY;
		switch (wall_instants(wall, tz, inst, &gap_end))
		{
			case 0:
				/* in a gap: move forward by the gap, as timestamptz + interval does */
				secs = (pg_time_t) (wall - offset_at(gap_end - 1, tz));
				break;
			default:
				secs = inst[0];
				break;
		}
		result = to_timestamptz((int64) secs, frac);
	}
	if (pg_add_s64_overflow(result, every->time, &result) || !IS_VALID_TIMESTAMP(result))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return result;
}

static pg_tz *
lookup_zone(const char *name)
{
	pg_tz	   *tz = pg_tzset(name);

	if (tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time_zone \"%s\" is not recognized", name),
				 errhint("Use a name from pg_timezone_names, e.g. 'Europe/Berlin'.")));
	return tz;
}

PG_FUNCTION_INFO_V1(clm_check_schedule);
PG_FUNCTION_INFO_V1(clm_schedule_is_cron);
PG_FUNCTION_INFO_V1(clm_schedule_next);

/*
 * check_schedule(schedule text) RETURNS boolean: true, or ERROR 22023.
 */
Datum
clm_check_schedule(PG_FUNCTION_ARGS)
{
	ClmSchedule sch;

	clm_parse_schedule(text_to_cstring(PG_GETARG_TEXT_PP(0)), &sch);
	PG_RETURN_BOOL(true);
}

/*
 * schedule_is_cron(schedule text) RETURNS boolean
 */
Datum
clm_schedule_is_cron(PG_FUNCTION_ARGS)
{
	ClmSchedule sch;

	clm_parse_schedule(text_to_cstring(PG_GETARG_TEXT_PP(0)), &sch);
	PG_RETURN_BOOL(sch.is_cron);
}

/*
 * schedule_next: the first firing of spec strictly after `after` in zone
 * zone_name into *result (for an interval: after + interval; infinite
 * after: itself); false if a cron schedule does not fire within 30 years
 */
static bool
schedule_next(const char *spec, TimestampTz after, const char *zone_name, TimestampTz *result)
{
	pg_tz	   *tz = lookup_zone(zone_name);
	ClmSchedule sch;
	pg_time_t	secs,
				next = 0;

	clm_parse_schedule(spec, &sch);
	if (TIMESTAMP_NOT_FINITE(after))
	{
		*result = after;
		return true;
	}
	if (!sch.is_cron)
	{
		*result = interval_next(&sch.every, after, tz);
		return true;
	}

	/* whole seconds at or before after: slots are whole minutes */
	secs = (pg_time_t) ((after - (after % USECS_PER_SEC + USECS_PER_SEC) % USECS_PER_SEC) /
						USECS_PER_SEC + EPOCH_DIFF_SECS);
	if (!cron_next(&sch, secs, tz, &next))
		return false;
	*result = to_timestamptz((int64) next, 0);
	return true;
}

/*
 * schedule_next(schedule text, after timestamptz, time_zone text)
 * RETURNS timestamptz: the first firing strictly after `after` (for an
 * interval: after + interval); NULL if a cron schedule does not fire within
 * 30 years.
 */
Datum
clm_schedule_next(PG_FUNCTION_ARGS)
{
	TimestampTz result;

	if (!schedule_next(text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_TIMESTAMPTZ(1),
					   text_to_cstring(PG_GETARG_TEXT_PP(2)), &result))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(result);
}

/*
 * next_attempt(schedule, time_zone, started_at, ended_at, failed, attempt,
 * max_retries, retry_period, jitter) RETURNS timestamptz: when a job runs
 * next after a run.  A failed attempt n <= max_retries is retried
 * retry_period x n x (1 + 0.1 x jitter) after it ended (counted from
 * started_at if ended_at is earlier), capped at the next slot; otherwise
 * the next slot after started_at.  Either way the result is strictly after
 * started_at, or NULL when a cron schedule never fires again and there is
 * no retry.  attempt, retry_period and jitter are checked even when they do
 * not decide the result, so a bad call fails whatever the outcome.
 */
PG_FUNCTION_INFO_V1(clm_next_attempt);
Datum
clm_next_attempt(PG_FUNCTION_ARGS)
{
	TimestampTz started_at = PG_GETARG_TIMESTAMPTZ(2);
	TimestampTz ended_at = PG_GETARG_TIMESTAMPTZ(3);
	bool		failed = PG_GETARG_BOOL(4);
	int32		attempt = PG_GETARG_INT32(5);
	int32		max_retries = PG_GETARG_INT32(6);
	Interval   *retry_period = PG_GETARG_INTERVAL_P(7);
	float8		jitter = PG_GETARG_FLOAT8(8);
	TimestampTz slot = 0,
				retry;
	bool		has_slot;

	if (attempt < 1)
		clm_invalid_arg(errmsg("attempt must be 1 or more"),
						errdetail("The value is %d.", attempt),
						errhint("attempt is the number of the run that ended: 1 at a scheduled slot, 2 and up for retries."));
	if (retry_period->month < 0 || retry_period->day < 0 || retry_period->time < 0 ||
		(retry_period->month == 0 && retry_period->day == 0 && retry_period->time == 0))
		clm_invalid_arg(errmsg("retry_period must be positive"),
						errhint("Every part (months, days, time) must be zero or more, and one more than zero."));
	if (!(jitter >= 0 && jitter <= 1))
		clm_invalid_arg(errmsg("jitter must be between 0 and 1"),
						errdetail("The value is %g.", jitter));
	if (TIMESTAMP_NOT_FINITE(started_at) || TIMESTAMP_NOT_FINITE(ended_at))
		clm_invalid_arg(errmsg("started_at and ended_at must be finite timestamps"));

	has_slot = schedule_next(text_to_cstring(PG_GETARG_TEXT_PP(0)), started_at,
							 text_to_cstring(PG_GETARG_TEXT_PP(1)), &slot);
	if (!failed || attempt > max_retries)
	{
		if (!has_slot)
			PG_RETURN_NULL();
		PG_RETURN_TIMESTAMPTZ(slot);
	}
	retry = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													TimestampTzGetDatum(Max(ended_at, started_at)),
													DirectFunctionCall2(interval_mul,
																		IntervalPGetDatum(retry_period),
																		Float8GetDatum(attempt * (1 + 0.1 * jitter)))));
	if (has_slot && slot < retry)
		PG_RETURN_TIMESTAMPTZ(slot);
	PG_RETURN_TIMESTAMPTZ(retry);
}
