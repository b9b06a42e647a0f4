/* MPIDR_EL1 affinity fields. Plain constants: host builds may include this file. */
#ifndef ARCH_MPIDR_H
#define ARCH_MPIDR_H

/* Aff3 (bits 39:32), Aff2, Aff1, Aff0 (bits 23:0): what names a CPU. The rest of MPIDR_EL1 (U,
 * MT, RES1) does not, and GICD_IROUTER keeps only these bits too. */
#define MPIDR_AFF_MASK 0xff00ffffffULL

#endif
