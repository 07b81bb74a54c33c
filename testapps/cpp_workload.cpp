// cpp_workload.cpp — a deterministic C++ program that leans on std::map,
// std::string and std::vector; run with and without the shim, its stdout
// must be identical. It builds a word-frequency map over generated text,
// a map of vectors, sorts, and prints counts and an FNV-1a checksum.
// --words N (default 200000), --seed N.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "app_common.h"

namespace {

std::string make_word(uint64_t *rng)
{
	static const char *syllables[] = {"ka", "lo", "mi", "ne", "su", "ta", "ri", "po",
					  "ven", "dra", "quo", "lix"};
	std::string w;
	int n = 1 + (int)(app_rand_r(rng) % 4);
	for (int i = 0; i < n; i++)
		w += syllables[app_rand_r(rng) % 12];
	return w;
}

uint64_t fnv(uint64_t h, const std::string &s)
{
	for (unsigned char c : s) {
		h ^= c;
		h *= 1099511628211ull;
	}
	return h;
}

} // namespace

int main(int argc, char **argv)
{
	long words = app_opt_long(argc, argv, "words", 200000);
	uint64_t rng = (uint64_t)app_opt_long(argc, argv, "seed", 5);
	std::map<std::string, long> freq;
	std::map<std::string, std::vector<long>> positions;
	std::unordered_map<std::string, std::unique_ptr<std::string>> longest;
	for (long i = 0; i < words; i++) {
		std::string w = make_word(&rng);
		freq[w]++;
		auto &pos = positions[w.substr(0, 2)];
		pos.push_back(i);
		auto &l = longest[w.substr(0, 1)];
		if (!l || l->size() < w.size())
			l = std::make_unique<std::string>(w + "/" + std::to_string(i));
	}
	std::vector<std::pair<long, std::string>> ranked;
	for (const auto &kv : freq)
		ranked.emplace_back(kv.second, kv.first);
	std::sort(ranked.begin(), ranked.end(), [](const auto &a, const auto &b) {
		return a.first != b.first ? a.first > b.first : a.second < b.second;
	});
	uint64_t h = 1469598103934665603ull;
	for (const auto &r : ranked)
		h = fnv(h, r.second + ":" + std::to_string(r.first));
	std::printf("distinct=%zu prefixes=%zu\n", freq.size(), positions.size());
	for (size_t i = 0; i < 5 && i < ranked.size(); i++)
		std::printf("top%zu %s %ld\n", i, ranked[i].second.c_str(), ranked[i].first);
	std::map<std::string, std::string> sorted_longest;
	for (const auto &kv : longest)
		sorted_longest[kv.first] = *kv.second;
	for (const auto &kv : sorted_longest)
		std::printf("longest %s %s\n", kv.first.c_str(), kv.second.c_str());
	std::printf("checksum %016llx\n", (unsigned long long)h);
	return 0;
}
