import { describe, expect, it } from 'vitest';

import { IModelLookup, managerWithin, retryModelLookup } from './voila';

/** A manager like jupyterlab-manager's: `get_model` gives up (throws) while the model is not registered yet. */
function manager(registerDuringLookup: boolean): IModelLookup & { models: Map<string, string> } {
  const models = new Map<string, string>();
  return {
    models,
    has_model: (id: string) => models.has(id),
    get_model: async (id: string) => {
      const model = models.get(id);
      if (model === undefined) {
        if (registerDuringLookup) {
          models.set(id, `model ${id}`); // the restore finished during the last poll
        }
        throw new Error('widget model not found');
      }
      return model;
    }
  };
}

describe('retryModelLookup', () => {
  it('returns a model that was registered while the base lookup was giving up', async () => {
    const m = manager(true);
    retryModelLookup(m);
    await expect(m.get_model('box')).resolves.toBe('model box');
  });

  it('still fails for a model that does not exist', async () => {
    const m = manager(false);
    retryModelLookup(m);
    await expect(m.get_model('nope')).rejects.toThrow('widget model not found');
  });

  it('leaves found models alone', async () => {
    const m = manager(false);
    m.models.set('vbox', 'model vbox');
    retryModelLookup(m);
    await expect(m.get_model('vbox')).resolves.toBe('model vbox');
  });
});

describe('managerWithin', () => {
  it('gives the manager when it comes in time, null when it never comes', async () => {
    const m = manager(false);
    await expect(managerWithin(Promise.resolve(m), 1000)).resolves.toBe(m);
    await expect(managerWithin(new Promise<IModelLookup>(() => undefined), 20)).resolves.toBeNull();
  });
});
