/* selfmap.c — the running program's own module map (see selfmap.h). */
#include "selfmap.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	selfmap *m = arg;
	/* the first object is the main executable */
	uint64_t lo = UINT64_MAX, hi = 0;
	m->mod.load_bias = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && m->n_segs < 16) {
			lw_segment_info *s = &m->segs[m->n_segs++];
			s->module = 0;
			s->prot = ph->p_flags & 7;
			s->start = info->dlpi_addr + ph->p_vaddr;
			s->end = s->start + ph->p_memsz;
			s->file_offset = ph->p_offset;
			s->file_size = ph->p_filesz;
			lo = s->start < lo ? s->start : lo;
			hi = s->end > hi ? s->end : hi;
		} else if (ph->p_type == PT_NOTE) {
			const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
			const uint8_t *end = p + ph->p_memsz;
			while (p + sizeof(ElfW(Nhdr)) <= end) {
				const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(const void *)p;
				const uint8_t *name = p + sizeof(*nh);
				const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
				if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
				    !memcmp(name, "GNU", 4) && nh->n_descsz <= LWD_MAX_BUILD_ID) {
					memcpy(m->mod.build_id, desc, nh->n_descsz);
					m->mod.build_id_len = nh->n_descsz;
				}
				p = desc + ((nh->n_descsz + 3) & ~3u);
			}
		}
	}
	m->mod.start = lo;
	m->mod.end = hi;
	return 1;
}

int selfmap_init(selfmap *m)
{
	memset(m, 0, sizeof(*m));
	ssize_t n = readlink("/proc/self/exe", m->exe, sizeof(m->exe) - 1);
	if (n <= 0)
		return -1;
	m->exe[n] = '\0';
	dl_iterate_phdr(phdr_cb, m);
	return m->n_segs && m->mod.end > m->mod.start ? 0 : -1;
}

void selfmap_write(lw_writer *w, const selfmap *m, uint32_t path_str)
{
	lw_module_info mod = m->mod;
	mod.path_str = path_str;
	lw_writer_section_begin(w, LWD_SEC_MODULES, 0, 1);
	lw_writer_put_module(w, &mod);
	lw_writer_section_end(w);
	lw_writer_section_begin(w, LWD_SEC_SEGMENTS, 0, m->n_segs);
	for (uint32_t i = 0; i < m->n_segs; i++)
		lw_writer_put_segment(w, &m->segs[i]);
	lw_writer_section_end(w);
}
