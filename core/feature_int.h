/* SPDX-License-Identifier: MIT */
/* core/feature_int.h — the individual checks behind strata_feature_check(). */
#ifndef STRATA_FEATURE_INT_H
#define STRATA_FEATURE_INT_H

#include <strata/feature.h>

struct strata_rt;

void st_check_thp(const struct strata_rt *rt, struct strata_feature_report *r);
void st_check_hugetlb(const struct strata_rt *rt, struct strata_feature_report *r);
void st_check_numa(const struct strata_rt *rt, struct strata_feature_report *r);
void st_check_memlock(const struct strata_rt *rt, struct strata_feature_report *r);
void st_check_psi(const struct strata_rt *rt, struct strata_feature_report *r);

#endif /* STRATA_FEATURE_INT_H */
