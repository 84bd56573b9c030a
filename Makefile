# Two commands on a fresh machine (Python 3.10+):
#   make demo   create .venv, install, run the CPU demo (synthetic camera clip -> depth video)
#   make test   create .venv, install, run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test env clean demo-model

$(STAMP): pyproject.toml constraints/cpu.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints/cpu.txt -e '.[train,dev]'
	touch $(STAMP)

env: $(STAMP)

demo: $(STAMP)
	$(BIN)/moadepth-edge demo --out demo_out

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Re-make the bundled demo checkpoint (moadepth_edge/assets/demo-tiny) from scratch: a tiny
# random-init ViT trained on 10,000 synthetic furnished rooms. On 2 CPU cores: the render about
# 9 minutes (kept in runs/rooms-10k; an interrupted render resumes), the training about 20.
# The shipped weights are last/, the end of the fixed cosine schedule: best/ is picked by the
# held-out synthetic rooms, which stop predicting real rooms once --augment-input is on.
demo-model: $(STAMP)
	$(BIN)/python -m moadepth_edge.data.render_folder runs/rooms-10k --spec synthetic:10000:rooms --size 120x160 --jobs 2
	rm -rf runs/demo-tiny
	$(BIN)/moadepth-edge train --preset moadepth-tiny-224 --data folder:runs/rooms-10k --eval-data synthetic:64:rooms \
	  --synthetic-size 120x160 --epochs 3 --batch-size 16 --lr 2e-3 --schedule cosine --warmup-steps 50 \
	  --augment --augment-input --cache --workers 1 --eval-every 1 --eval-limit 64 --out runs/demo-tiny
	rm -rf moadepth_edge/assets/demo-tiny
	mkdir -p moadepth_edge/assets
	cp -r runs/demo-tiny/last moadepth_edge/assets/demo-tiny
	rm -f moadepth_edge/assets/demo-tiny/trainer_state.*

clean:
	rm -rf $(VENV) demo_out
