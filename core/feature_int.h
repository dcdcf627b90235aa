/* SPDX-License-Identifier: MIT */
/* core/feature_int.h — the individual checks behind strata_feature_check(). */
#ifndef STRATA_FEATURE_INT_H
#define STRATA_FEATURE_INT_H

#include <strata/feature.h>

#include "base/base.h"

struct strata_rt;

/* Fill a report's text fields, printf-style. */
#define FEATURE_DETAIL(r, ...) st_fmt((r)->detail, sizeof((r)->detail), __VA_ARGS__)
#define FEATURE_FIX(r, ...) st_fmt((r)->fix, sizeof((r)->fix), __VA_ARGS__)

void st_check_thp(const struct strata_rt *rt, struct strata_feature_report *r);
void st_check_hugetlb(const struct strata_rt *rt, struct strata_feature_report *r);
void st_check_numa(const struct strata_rt *rt, struct strata_feature_report *r);
void st_check_memlock(const struct strata_rt *rt, struct strata_feature_report *r);
void st_check_psi(const struct strata_rt *rt, struct strata_feature_report *r);

#endif /* STRATA_FEATURE_INT_H */
