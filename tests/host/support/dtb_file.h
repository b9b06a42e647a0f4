/* Test device trees: tests/host/dts/NAME.dts, compiled by host.mk to build/host/dts/NAME.dtb. */
#ifndef HOST_SUPPORT_DTB_FILE_H
#define HOST_SUPPORT_DTB_FILE_H

/* Reads build/host/dts/NAME.dtb (tests run from the repo root) into a buffer that the caller
 * free()s, with `slack` spare bytes after it (for trees a test edits). Fails the test if absent. */
void *dtb_load(const char *name, unsigned slack);

#endif
