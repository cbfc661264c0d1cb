# Makefile for clm (PGXS)
#
#   make             build clm.so
#   make install     install into the PostgreSQL found by pg_config
#   make test        set up, build with -Werror and run every test suite
#   make demo        set up and run the demo on a throwaway cluster
#   make bench       run the benchmarks in bench/

EXTENSION = clm
MODULE_big = clm
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
DATA = $(sort $(wildcard clm--*.sql))
PGFILEDESC = "clm - customer lifecycle management"

# setup runs first; the rest in file-name order
REGRESS = setup $(filter-out setup,$(sort $(notdir $(basename $(wildcard sql/*.sql)))))

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -I$(srcdir)/src
# -Wno-unused-parameter: the server headers have inline functions with unused
# parameters; everything else in -Wextra stays on.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter
ifeq ($(WERROR),1)
PG_CFLAGS += -Werror
endif
SHLIB_LINK = -lm

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

.PHONY: test demo bench print-regress
test:
	bash scripts/test.sh
demo:
	bash scripts/demo.sh
bench:
	bash bench/summary_rfm.sh && bash bench/fit.sh && bash bench/job.sh
print-regress:
	@echo $(REGRESS)
