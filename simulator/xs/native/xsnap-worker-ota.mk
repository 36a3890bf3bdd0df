# ota-mcu's variant of @agoric/xsnap's xsnap-worker (built by simulator/xs/xsnap-build.ts).
# The package's own makefile (XSNAP_MK, run from its folder so its CURDIR-relative paths hold) gives
# the flags, defines and object list; BUILD_DIR on the command line moves every output out of
# node_modules. Added here: creation.o (simulator/xs/native/creation.c), and xsnap-worker.c compiled
# with its machine creation renamed so that it calls ours (see creation.c).
# SPDX-License-Identifier: Apache-2.0

include $(XSNAP_MK)

OBJECTS += $(TMP_DIR)/creation.o
VPATH += $(OTA_NATIVE_DIR)

# The package's link rule listed its prerequisites when it was read; the recipe expands $(OBJECTS)
# late, so creation.o is linked, and this line makes sure it is built first.
$(BIN_DIR)/$(NAME): $(TMP_DIR)/creation.o

$(TMP_DIR)/xsnap-worker.o: C_OPTIONS += -DfxCreateMachine=otaCreateMachine
