# SPDX-License-Identifier: GPL-2.0-or-later
# tests/fuzz/fuzz.mk - builds the libFuzzer harnesses with clang, whatever CC configure chose (GNU make).
#
# Called by tests/fuzz/local.mk as: $(MAKE) -f fuzz.mk FUZZ_SRCDIR=... FUZZ_CC=clang FUZZ_CPPFLAGS=...
# FUZZ_LIBS=...  The project sources are compiled again here, instrumented for coverage and with
# ASan and UBSan, into tests/fuzz/obj; the gcc-built room libraries are not used.
# Kept apart from automake because automake (run with -Werror) refuses GNU pattern rules.

S := $(FUZZ_SRCDIR)
O := tests/fuzz/obj
B := tests/fuzz/bin

FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-strict-aliasing -fsanitize=fuzzer-no-link $(FUZZ_SAN) $(FUZZ_WARN) \
	-I$(S)/src -I$(S)/tests/fuzz $(FUZZ_CPPFLAGS)
FUZZ_LDFLAGS := -fsanitize=fuzzer $(FUZZ_SAN)

# Quiet like automake's silent rules unless V=1.
ifeq ($(V),1)
Q :=
say := @true
else
Q := @
say := @echo
endif

# Every room a harness may need becomes one clang-built archive of all its sources (new files are
# picked up by themselves); a harness links them as a group, so only what it uses is pulled in.
# The harness's own stand-ins (the privileged monitor, the next hop) are objects, so they win
# over the archive members of the same name, which are then never pulled.
ROOMS := common auth relaydb mailbox privsep pop3d smtpd admin
room_srcs = $(filter-out %/main.c,$(patsubst $(S)/%,%,$(wildcard $(S)/src/$(1)/*.c)))
ARCHIVES := $(foreach r,$(ROOMS),$(O)/lib$(r).a)

UTIL := tests/fuzz/fuzz_util.c
fuzz_pop3_SRCS := tests/fuzz/fuzz_pop3.c tests/fuzz/fuzz_mailbox.c $(UTIL)
fuzz_smtp_SRCS := tests/fuzz/fuzz_smtp.c tests/fuzz/fuzz_spool.c $(UTIL)
fuzz_smtp_data_SRCS := tests/fuzz/fuzz_smtp_data.c tests/fuzz/fuzz_spool.c $(UTIL)
fuzz_smtp_addr_SRCS := tests/fuzz/fuzz_smtp_addr.c $(UTIL)
fuzz_mbox_SRCS := tests/fuzz/fuzz_mbox.c tests/fuzz/fuzz_mailbox.c $(UTIL)
fuzz_config_SRCS := tests/fuzz/fuzz_config.c $(UTIL)
fuzz_admin_SRCS := tests/fuzz/fuzz_admin.c tests/fuzz/fuzz_json.c $(UTIL)
fuzz_socketmap_SRCS := tests/fuzz/fuzz_socketmap.c $(UTIL)
fuzz_proxy_SRCS := tests/fuzz/fuzz_proxy.c $(UTIL)

# local.mk passes FUZZ_HARNESSES (make fuzz FUZZ_HARNESSES=fuzz_pop3 builds and runs just one).
HARNESSES := $(or $(FUZZ_HARNESSES),fuzz_pop3 fuzz_smtp fuzz_smtp_data fuzz_smtp_addr fuzz_mbox fuzz_config \
	fuzz_admin fuzz_socketmap fuzz_proxy)

all: $(addprefix $(B)/,$(HARNESSES))

# Project sources: the project's own warnings, not fatal here (a new clang warning in another room
# must not stop the fuzzers; clang also flags vsnprintf on a va_list format, which gcc accepts);
# the harnesses themselves build with -Werror.
$(O)/src/%.o: $(S)/src/%.c
	@mkdir -p $(dir $@)
	$(say) "  FUZZCC   $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-format-nonliteral -MMD -MP -c $< -o $@

$(O)/tests/%.o: $(S)/tests/%.c
	@mkdir -p $(dir $@)
	$(say) "  FUZZCC   $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -MMD -MP -c $< -o $@

define room_rule
$(O)/lib$(1).a: $$(patsubst %.c,$(O)/%.o,$$(call room_srcs,$(1)))
	@rm -f $$@
	$(say) "  AR       $$@"
	$(Q)$(AR) rcs $$@ $$^
endef
$(foreach r,$(ROOMS),$(eval $(call room_rule,$(r))))

define harness_rule
$(B)/$(1): $$(patsubst %.c,$(O)/%.o,$$($(1)_SRCS)) $(ARCHIVES)
	@mkdir -p $(B)
	$(say) "  FUZZLD   $$@"
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $$@ $$(patsubst %.c,$(O)/%.o,$$($(1)_SRCS)) \
		-Wl,--start-group $(ARCHIVES) -Wl,--end-group $(FUZZ_LIBS) -lpthread
endef
$(foreach h,$(HARNESSES),$(eval $(call harness_rule,$(h))))

-include $(shell find $(O) -name '*.d' 2>/dev/null)

.PHONY: all
