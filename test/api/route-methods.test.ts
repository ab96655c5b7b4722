import { RouteMethods } from '../../api/route-methods';

describe('RouteMethods', () => {
  const routes = new RouteMethods();
  routes.add('/ota/:productName/:deviceName', 'POST');
  routes.add('/ota/:productName/:deviceName', ['GET', 'HEAD']);
  routes.add('/campaigns/:id/pause', 'POST');
  routes.add('/health', 'GET');

  it('lists the methods of a matching path', () => {
    expect(routes.allowed('/ota/lamp/dev-1')).toEqual(['GET', 'HEAD', 'POST']);
    expect(routes.allowed('/campaigns/lamps-1.1/pause')).toEqual(['POST']);
  });

  it('matches parameters within one segment', () => {
    expect(routes.allowed('/ota/lamp')).toEqual([]);
    expect(routes.allowed('/ota/lamp/dev-1/extra')).toEqual([]);
  });

  it('matches fixed segments literally', () => {
    expect(routes.allowed('/healthy')).toEqual([]);
    expect(routes.allowed('/campaigns/a/pauses')).toEqual([]);
  });
});
