/* ret_gen.h — synthetic heap dumps of known shapes for the retainers tests
 * (see ret_gen.c for the shapes and the expected figures). */
#ifndef LW_RET_GEN_H
#define LW_RET_GEN_H

extern void *g_session_table[16];
extern void *g_config;

/* The "allocation sites" the synthetic stacks point into. */
void *ret_make_session(void);
void *ret_make_payload(void);
void *ret_list_node(void);
void *ret_make_config(void);
int ret_gen_caller(void);

/* Writes dir/name with shape "basic" (a dump with a heap graph) or
 * "snapshot" (no graph). Returns 0 or a negative errno. */
int ret_gen_write(const char *dir, const char *name, const char *shape);

#endif
