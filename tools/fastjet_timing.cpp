// Times FastJet (C++) on the default event sample, the same work as benches/antikt.rs:
// ClusterSequence with the default strategy (Best) + sorted_by_pt(inclusive_jets(5 GeV)) + the
// constituents of each jet. Reads the CSV `event,px,py,pz,e,pid` on stdin (uncompressed).
// Build and run: tools/fastjet_timing.sh (see tools/README.md).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "fastjet/ClusterSequence.hh"

using fastjet::PseudoJet;

static std::vector<std::vector<PseudoJet>> read_events(std::istream& in) {
  std::vector<std::vector<PseudoJet>> events;
  std::string line;
  std::getline(in, line);  // header
  long current = -1;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    long ev;
    double px, py, pz, e;
    if (std::sscanf(line.c_str(), "%ld,%lf,%lf,%lf,%lf", &ev, &px, &py, &pz, &e) != 5) {
      std::cerr << "bad line: " << line << "\n";
      std::exit(1);
    }
    if (ev != current) {
      events.emplace_back();
      current = ev;
    }
    PseudoJet p(px, py, pz, e);
    p.set_user_index(int(events.back().size()));
    events.back().push_back(p);
  }
  return events;
}

int main(int argc, char** argv) {
  int repeats = argc > 1 ? std::atoi(argv[1]) : 20;
  std::vector<std::vector<PseudoJet>> events = read_events(std::cin);
  size_t n_particles = 0;
  for (auto& ev : events) n_particles += ev.size();
  std::printf("%zu events, %.1f particles per event, %d passes\n", events.size(),
              double(n_particles) / events.size(), repeats);
  fastjet::ClusterSequence::set_fastjet_banner_stream(nullptr);
  for (double r : {0.4, 1.0}) {
    fastjet::JetDefinition def(fastjet::antikt_algorithm, r);
    size_t checksum = 0;
    double best = 1e300, total = 0;
    for (int pass = 0; pass < repeats; ++pass) {
      auto t0 = std::chrono::steady_clock::now();
      for (auto& ev : events) {
        fastjet::ClusterSequence cs(ev, def);
        std::vector<PseudoJet> jets = fastjet::sorted_by_pt(cs.inclusive_jets(5.0));
        for (auto& j : jets) checksum += j.constituents().size();
      }
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (dt < best) best = dt;
      total += dt;
    }
    fastjet::ClusterSequence cs(events[0], def);
    std::printf("anti-kT R = %.1f: %.1f us per event best of %d passes, %.1f us mean (strategy at event 0: %s; checksum %zu)\n",
                r, best / events.size() * 1e6, repeats, total / repeats / events.size() * 1e6,
                cs.strategy_string().c_str(), checksum);
  }
  return 0;
}
