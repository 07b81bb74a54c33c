/* rootdtls.c — librootdtls.so, dlopen'd by root_dtls: a __thread variable
 * in a library loaded at run time lives in a dynamic TLS block (allocated
 * per thread on first use and reached through the thread's DTV), not in
 * static TLS. */
void rootdtls_set(void *p);

__thread void *t_dyn;              /* exported: the store cannot be dropped */

void rootdtls_set(void *p)
{
	t_dyn = p;
}
