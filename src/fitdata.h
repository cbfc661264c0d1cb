/*-------------------------------------------------------------------------
 *
 * fitdata.h
 *		The clm.fit_data type shared by fitdata.c (type, I/O, aggregates)
 *		and models.c (the fits that read it).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLM_FITDATA_H
#define CLM_FITDATA_H

#include "clm.h"

#define FIT_DATA_VERSION 1

/* which columns the rows carry */
#define FIT_RECENCY		0x01	/* frequency, recency, tenure */
#define FIT_MONETARY	0x02	/* monetary */

/* one distinct customer row and how many customers share it */
typedef struct FitRow
{
	float8		x;				/* frequency: repeat purchases */
	float8		tx;				/* recency */
	float8		T;				/* tenure */
	float8		m;				/* monetary: mean repeat purchase value */
	float8		w;				/* weight: number of customers */
} FitRow;

typedef struct FitData
{
	int32		vl_len_;		/* varlena header */
	uint8		version;
	uint8		flags;			/* FIT_RECENCY | FIT_MONETARY */
	uint16		spare;
	int32		nrows;			/* rows in use */
	int32		capacity;		/* rows allocated (all counted in vl_len_) */
	int32		no_regroup;		/* 1: merging rows while growing did not pay */
	float8		penalizer;		/* set by the one-step fitting aggregates */
	FitRow		rows[FLEXIBLE_ARRAY_MEMBER];
} FitData;

extern FitData *fit_data_alloc(MemoryContext mcxt, uint8 flags, int64 capacity);
extern void fit_data_check(const FitData *fd);
extern void fit_data_group(FitData *fd);
extern FitData *fit_data_canonical(const FitData *fd);
extern void fit_check_row(float8 x, float8 tx, float8 T, bool has_recency);
extern void fit_check_penalizer(float8 pen);

#endif							/* CLM_FITDATA_H */
