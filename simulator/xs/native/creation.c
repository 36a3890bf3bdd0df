// ota-mcu's additions to @agoric/xsnap's xsnap-worker, linked into the variant that
// simulator/xs/xsnap-build.ts compiles from the installed package's sources (node_modules stays
// untouched). xsnap-worker.c is compiled with -DfxCreateMachine=otaCreateMachine, so its one
// xsCreateMachine call (xs.h: xsCreateMachine expands to fxCreateMachine) lands here; this file is
// compiled without that define, so the fxCreateMachine called below is XS's own (xsAPI.c).
//
// 1. Creation from the environment. xsnap-worker.c (main) fills xsCreation with fixed sizes (32 MiB
//    of chunks growing by 4 MiB, 256K slots growing by 128K, a 4096-slot stack). A device's
//    manifest "creation" sets these instead, and XS enforces them itself (xsMemory.c):
//      - an incremental of 0 makes the heap fixed: fxNewSlot aborts with XS_NOT_ENOUGH_MEMORY_EXIT
//        ("# Slot allocation: failed in fixed size heap", xsMemory.c:1486-1491) once a collection
//        frees nothing, and fxGrowChunks aborts likewise when chunks are full ("failed in fixed
//        size heap", xsMemory.c:515-518) after fxFindChunk's compacting collection (xsMemory.c:418-422);
//      - the stack is stackCount slots: fxOverflow aborts with XS_STACK_OVERFLOW_EXIT past it
//        (xsAPI.c:1273-1288);
//      - a Zephyr "static" block holds chunks, heap and stack together: there the platform's
//        allocators return NULL once the block is used up, and fxGrowChunks/fxGrowSlots abort
//        (xsMemory.c:249-253, 573-577). xsnap's own allocators already meter every chunk and slot
//        allocation against the->allocationLimit and abort past it (xsnapPlatform.c
//        adjustSpaceMeter), so a static block is that limit.
//    OTA_XS_CREATION="chunk=<initial>/<incremental>,heap=<initial>/<incremental>,stack=<slots>,space=<bytes>"
//    overrides the sizes given (each part optional); space=N sets the->allocationLimit to what the
//    creation allocated plus N bytes.
//
// 2. XS's own memory counters for the harness: a global otaMemory() returning, as an ArrayBuffer of
//    JSON text (xsnap replies with the bytes of an ArrayBuffer result), the counters xsMemory.c
//    keeps (currentHeapCount/peakHeapCount slots, currentChunksSize/peakChunksSize bytes, and what
//    is reserved), sizeof(txSlot), and the stack: its size, its depth at rest after creation,
//    its current depth and its peak depth.
//    xsnap builds without mxInstrument, so XS keeps no stack peak (the->stackPeak); the free part of
//    the stack is painted with a pattern instead and the peak is where the paint is disturbed (the
//    "stack painting" an RTOS uses for task stacks). otaMemory(true) resets the peaks to the
//    current values and repaints, so the next reading covers what ran since.
//
// 3. otaLimit(): chunk limits applied after the bundle is loaded (see ota_limit).
//
// SPDX-License-Identifier: Apache-2.0

#include "xsAll.h"
#include "xs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

txMachine* otaCreateMachine(txCreation* creation, txString name, void* context, txID profileID);

#define OTA_PAINT 0xA5

// Stack depth of the machine at rest, right after its creation: the intrinsics XS keeps at the top
// of its stack (the->stackPrototypes, xsAll.h) and nothing else. A device has those too; what an
// evaluation adds above it is the harness's (see otaMemory's stackBase).
static long gxOtaStackBase = 0;

static void otaPaintStack(txMachine* the, txSlot* below)
{
	c_memset(the->stackBottom, OTA_PAINT, (char*)below - (char*)the->stackBottom);
}

static int otaPainted(txSlot* slot)
{
	unsigned char* byte = (unsigned char*)slot;
	size_t i;
	for (i = 0; i < sizeof(txSlot); i++)
		if (byte[i] != OTA_PAINT)
			return 0;
	return 1;
}

// The deepest slot frames reached: frames grow down from the current stack pointer, so scan down
// to the first slot still painted. Not up from the bottom: XS borrows the free stack, from
// stackBottom up, as scratch memory for number conversion (xsdtoa.c:6393) and regular
// expressions (xsre.c:2046), which is not frame depth; when that scratch reaches up to the frames
// the watermark reads too deep, so it is an upper bound.
static txSlot* otaStackLowWater(txMachine* the)
{
	txSlot* slot = the->stack;
	while ((slot > the->stackBottom) && !otaPainted(slot - 1))
		slot--;
	return slot;
}

static void ota_memory(txMachine* the)
{
	char json[640];
	int length;
	txSlot* low = otaStackLowWater(the);
	// Sampled before the reply's ArrayBuffer is allocated: the reading does not count itself.
	length = snprintf(json, sizeof(json),
		"{\"slotBytes\":%u,"
		"\"currentHeapCount\":%ld,\"peakHeapCount\":%ld,\"maximumHeapCount\":%ld,"
		"\"currentChunksSize\":%ld,\"peakChunksSize\":%ld,\"maximumChunksSize\":%ld,"
		"\"stackCount\":%ld,\"stackBase\":%ld,\"stackDepth\":%ld,\"stackPeak\":%ld,"
		"\"allocatedSpace\":%lu,\"allocationLimit\":%lu}",
		(unsigned)sizeof(txSlot),
		(long)the->currentHeapCount, (long)the->peakHeapCount, (long)the->maximumHeapCount,
		(long)the->currentChunksSize, (long)the->peakChunksSize, (long)the->maximumChunksSize,
		(long)(the->stackTop - the->stackBottom), gxOtaStackBase, (long)(the->stackTop - the->stack), (long)(the->stackTop - low),
		(unsigned long)the->allocatedSpace, (unsigned long)the->allocationLimit);
	if ((xsToInteger(xsArgc) > 0) && xsTest(xsArg(0))) {
		the->peakHeapCount = the->currentHeapCount;
		the->peakChunksSize = the->currentChunksSize;
		otaPaintStack(the, the->stack);
	}
	xsResult = xsArrayBuffer(json, length);
}

// otaLimit(initialChunkBytes, incrementalChunkBytes, spaceBytes): what a preloaded device has for
// chunks, applied once the harness has evaluated the bundle. Evaluating the bundle needs chunks a
// device never needs (the source text and the whole script's byte code, ~1.4 MB, where the device
// runs code from flash), and XS cannot shrink a machine's chunks; but xsnap keeps them in one block
// (xsnapPlatform.c fxAllocateChunks grows it in place), and a compacting collection packs the live
// chunks at its start. So: collect, then end the block `initial` bytes past the live chunks, and
// from now on grow by `incremental` (0: fxGrowChunks aborts "memory full", xsMemory.c:515-518).
// spaceBytes >= 0 caps all allocations from now on (the rest of a static block).
static void ota_limit(txMachine* the)
{
	txInteger initial = xsToInteger(xsArg(0));
	txInteger incremental = xsToInteger(xsArg(1));
	txInteger space = xsToInteger(xsArg(2));
	txBlock* block;
	fxCollect(the, XS_COMPACT_FLAG);
	block = the->firstBlock;
	if (!block || block->nextBlock)
		xsUnknownError("otaLimit: expected the chunks in one block");
	if (block->current + initial < block->limit) {
		the->maximumChunksSize -= (txSize)(block->limit - (block->current + initial));
		block->limit = block->current + initial;
	}
	the->minimumChunksSize = incremental;
	if (space >= 0)
		the->allocationLimit = the->allocatedSpace + (size_t)space;
}

// "12/34" → 12 and 34; "12" → 12 and the incremental untouched.
static void otaParsePair(const char* text, txInteger* initial, txInteger* incremental)
{
	char* end;
	*initial = (txInteger)strtol(text, &end, 10);
	if (*end == '/')
		*incremental = (txInteger)strtol(end + 1, &end, 10);
}

txMachine* otaCreateMachine(txCreation* creation, txString name, void* context, txID profileID)
{
	const char* spec = getenv("OTA_XS_CREATION");
	long space = -1;
	txMachine* the;
	if (spec) {
		const char* part = spec;
		while (*part) {
			if (!strncmp(part, "chunk=", 6))
				otaParsePair(part + 6, &creation->initialChunkSize, &creation->incrementalChunkSize);
			else if (!strncmp(part, "heap=", 5))
				otaParsePair(part + 5, &creation->initialHeapCount, &creation->incrementalHeapCount);
			else if (!strncmp(part, "stack=", 6))
				creation->stackCount = (txInteger)strtol(part + 6, NULL, 10);
			else if (!strncmp(part, "space=", 6))
				space = strtol(part + 6, NULL, 10);
			else {
				fprintf(stderr, "OTA_XS_CREATION: unknown part at \"%s\"\n", part);
				exit(2);
			}
			part = strchr(part, ',');
			if (!part)
				break;
			part++;
		}
	}
	the = fxCreateMachine(creation, name, context, profileID);
	if (!the)
		return the;
	gxOtaStackBase = (long)(the->stackTop - the->stack);
	if (space >= 0)
		the->allocationLimit = the->allocatedSpace + (size_t)space;
	xsBeginHost(the);
	{
		xsResult = xsNewHostFunction(ota_memory, 1);
		xsDefine(xsGlobal, xsID("otaMemory"), xsResult, xsDontEnum);
		xsResult = xsNewHostFunction(ota_limit, 3);
		xsDefine(xsGlobal, xsID("otaLimit"), xsResult, xsDontEnum);
	}
	xsEndHost(the);
	otaPaintStack(the, the->stack);
	return the;
}
