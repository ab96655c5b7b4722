// Every workflow the worker runs. The worker bundles this file, so it may import only workflow code.
export { upgradeDevice } from './upgrade';
export { upgradeCampaign } from './campaign';
