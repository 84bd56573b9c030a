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
# random-init ViT trained on 10,000 synthetic rooms (about 12 minutes on 2 CPU cores; --cache keeps the rendered rooms in RAM).
demo-model: $(STAMP)
	rm -rf runs/demo-tiny
	$(BIN)/moadepth-edge train --preset moadepth-tiny-224 --data synthetic:10000 --synthetic-size 96x128 \
	  --epochs 10 --batch-size 16 --lr 2e-3 --schedule cosine --warmup-steps 20 \
	  --no-augment --cache --workers 0 --eval-every 5 --eval-limit 64 --out runs/demo-tiny
	rm -rf moadepth_edge/assets/demo-tiny
	mkdir -p moadepth_edge/assets
	cp -r runs/demo-tiny/best moadepth_edge/assets/demo-tiny
	rm -f moadepth_edge/assets/demo-tiny/trainer_state.pt

clean:
	rm -rf $(VENV) demo_out
